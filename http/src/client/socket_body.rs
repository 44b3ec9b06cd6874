//! [`SocketBody`]: a large Content-Length response body on a plain connection. The
//! server's response writer can splice it from the upstream socket to its client
//! (`conn/splice_socket.rs`): it takes the bytes already received, then moves the rest
//! in the kernel and reports each piece with [`SocketBody::spliced`]. Read any other way
//! ([`Body::chunk`](crate::Body::chunk), a TLS client), it is the usual body stream.

use std::any::Any;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use coreline_runtime::{AsSharedFd, SharedFd};
use futures_core::Stream;

use super::body::{BodyStream, Remaining};

/// A response body that can be spliced; see the module doc.
pub(crate) struct SocketBody {
    stream: BodyStream,
    /// Kept until the body is done or dropped (a proxy's permit for its exchange).
    guard: Option<Box<dyn Any>>,
}

impl SocketBody {
    /// `stream` must be a Content-Length body on a plain connection.
    pub(super) fn new(stream: BodyStream) -> Self {
        SocketBody {
            stream,
            guard: None,
        }
    }

    /// Keeps `guard` alive as long as the body.
    pub(crate) fn hold(&mut self, guard: Box<dyn Any>) {
        self.guard = Some(guard);
    }

    /// Body bytes not taken yet.
    pub(crate) fn len(&self) -> u64 {
        match self.stream.remaining {
            Remaining::Length(n) => n,
            _ => 0,
        }
    }

    /// How long a wait for upstream bytes may take.
    pub(crate) fn read_timeout(&self) -> Duration {
        self.stream.read_timeout
    }

    /// The next piece of body read in user space (the stream's path).
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }

    /// Ends the connection's receive (so nothing but the splice reads the socket) and
    /// hands the body bytes received so far to `sink`, in order: they go out before the
    /// spliced rest. Straight from the receive's chunks, with no gathering copy (a proxied
    /// 1 MiB response brings a hundred KiB or more with its head). Returns how many it
    /// took and the socket to splice the rest from.
    pub(crate) async fn take_received(
        &mut self,
        mut sink: impl FnMut(&[u8]),
    ) -> io::Result<(u64, SharedFd)> {
        let mut left = self.len();
        let conn = self.stream.conn.as_mut().ok_or_else(gone)?;
        let n = left.min(conn.buf.len() as u64) as usize;
        sink(&conn.buf[..n]);
        conn.buf.advance(n);
        left -= n as u64;
        // Bytes past the body (an upstream that sent more than it announced) stay in the
        // connection's buffer, which then keeps it out of the pool.
        let mut take = |data: &[u8], rest: &mut BytesMut| {
            let n = left.min(data.len() as u64) as usize;
            sink(&data[..n]);
            rest.extend_from_slice(&data[n..]);
            left -= n as u64;
        };
        poll_fn(|cx| loop {
            let tcp = conn
                .plain()
                .expect("a socket body is on a plain connection");
            match ready!(tcp.poll_stop_recv(cx))? {
                Some(data) => take(&data, &mut conn.buf),
                None => return Poll::Ready(Ok::<_, io::Error>(())),
            }
        })
        .await?;
        let fd = conn.plain().map(|tcp| tcp.as_shared_fd().clone());
        let taken = self.len() - left;
        self.spliced(taken);
        Ok((taken, fd.ok_or_else(gone)?))
    }

    /// `n` more body bytes left the connection by another way than this stream. Once
    /// the whole body has, the connection goes back to the pool (if it may: kept alive,
    /// and nothing received past the body).
    pub(crate) fn spliced(&mut self, n: u64) {
        let Remaining::Length(left) = &mut self.stream.remaining else {
            return;
        };
        *left = left.saturating_sub(n);
        if *left == 0 {
            if let (Some(conn), Some(then)) = (self.stream.conn.take(), self.stream.then.take()) {
                then.release(conn);
            }
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the body's connection is gone")
}
