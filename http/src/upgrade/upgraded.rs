//! [`Upgraded`]: a connection after `101 Switching Protocols`, as a plain byte stream.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use coreline_runtime::net::TcpStream;
use coreline_runtime::{ops, AsSharedFd, SharedFd};

/// Who else has a say over an upgraded connection: the server, whose graceful shutdown
/// ends it, and whose connection count it stays in until it is dropped.
pub(crate) trait Owner {
    /// Whether the connection must end now; else `cx` is woken when it must.
    fn poll_ending(&self, cx: &mut Context<'_>) -> bool;
}

/// An upgraded connection: reads return what the peer sends (first any bytes that came
/// with the request or response head), writes go straight to the socket. `!Send`: it
/// lives on its core. Dropping it closes the connection.
///
/// Reads take `&mut self`; writes and the half-close take `&self` and return futures that
/// borrow nothing, so one task can read and write at once (as a proxy's pipe does).
pub struct Upgraded {
    stream: TcpStream,
    fd: SharedFd,
    /// Bytes received past the head, returned by the first read.
    leftover: Bytes,
    owner: Option<Box<dyn Owner>>,
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("leftover", &self.leftover.len())
            .field("server_side", &self.owner.is_some())
            .finish()
    }
}

impl Upgraded {
    /// The connection `stream`, with `leftover` bytes already received past the head.
    pub(crate) fn new(stream: TcpStream, leftover: Bytes, owner: Option<Box<dyn Owner>>) -> Self {
        let fd = stream.as_shared_fd().clone();
        Upgraded {
            stream,
            fd,
            leftover,
            owner,
        }
    }

    /// Polls for the next bytes from the peer: `Ok(None)` once it has closed its side.
    /// On the server, graceful shutdown makes it fail with `ConnectionAborted`.
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        if let Some(owner) = &self.owner {
            if owner.poll_ending(cx) {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the server is shutting down",
                )));
            }
        }
        if !self.leftover.is_empty() {
            return Poll::Ready(Ok(Some(std::mem::take(&mut self.leftover))));
        }
        self.stream
            .poll_recv(cx)
            .map(|received| received.map(|chunk| chunk.map(|chunk| Bytes::copy_from_slice(&chunk))))
    }

    /// The next bytes from the peer: `Ok(None)` once it has closed its side.
    pub async fn read(&mut self) -> io::Result<Option<Bytes>> {
        poll_fn(|cx| self.poll_read(cx)).await
    }

    /// Sends all of `data`.
    pub fn write_all(&self, data: Bytes) -> impl Future<Output = io::Result<()>> + 'static {
        let fd = self.fd.clone();
        async move {
            let mut data = data;
            while !data.is_empty() {
                let (sent, back) = ops::send(&fd, data).await;
                data = back;
                match sent? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    n => data.advance(n),
                }
            }
            Ok(())
        }
    }

    /// Half-closes the connection (FIN after what was sent): the peer reads its end while
    /// this side can still read.
    pub fn shutdown_write(&self) -> impl Future<Output = io::Result<()>> + 'static {
        let fd = self.fd.clone();
        async move { ops::shutdown(&fd, std::net::Shutdown::Write).await }
    }
}
