//! [`Conn`]: one connection to an upstream, plain or TLS, with the bytes received and not
//! used yet. Receives are polled (the response body stream polls them), sends are awaited.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use coreline_runtime::buf::IoBuf;
use coreline_runtime::net::TcpStream;
use coreline_tls::rustls::ClientConnection;
use coreline_tls::TlsStream;

use super::deadline::Deadline;
use super::Error;

/// Sends up to this size are copied into one buffer and leave with one `send`.
pub(super) const COALESCE_MAX: usize = 16 * 1024;

/// The largest receive buffer an idle connection keeps. Before a body is spliced, the
/// bytes already received are drained into the buffer, which can grow to about the size
/// of the socket's receive queue (up to a MiB or more); kept by every pooled connection,
/// that was tens of MiB of memory holding nothing.
const IDLE_BUFFER_MAX: usize = 64 * 1024;

/// The socket under a connection.
pub(super) enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<ClientConnection>>),
}

/// A connection to an upstream.
pub(super) struct Conn {
    transport: Transport,
    /// Bytes received and not consumed yet (the rest of a head, body bytes).
    pub(super) buf: BytesMut,
    /// Whether it served an earlier request: a failure before any response byte may then
    /// be the upstream having closed it while idle (the keep-alive race).
    pub(super) reused: bool,
    /// The time limit of the current send or wait for bytes.
    deadline: Deadline,
}

impl Conn {
    /// Boxed for its whole life: the pool, the exchange and the response body move it
    /// several times per request, a pointer each instead of the whole connection.
    pub(super) fn new(transport: Transport) -> Box<Self> {
        Box::new(Conn {
            transport,
            buf: BytesMut::new(),
            reused: false,
            deadline: Deadline::default(),
        })
    }

    /// Receives more bytes into `buf`: `Ok(0)` at the end of the stream (for TLS, a clean
    /// `close_notify`; a TCP EOF without it is an `UnexpectedEof` error).
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        match &mut self.transport {
            Transport::Plain(tcp) => match tcp.poll_recv(cx) {
                Poll::Ready(Ok(Some(chunk))) => {
                    self.buf.extend_from_slice(&chunk);
                    Poll::Ready(Ok(chunk.len()))
                }
                Poll::Ready(Ok(None)) => Poll::Ready(Ok(0)),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            Transport::Tls(tls) => tls.poll_recv_into(cx, &mut self.buf),
        }
    }

    /// Frees the receive buffer if it grew past [`IDLE_BUFFER_MAX`] (and is empty): a
    /// connection parked in the pool keeps no large buffer.
    pub(super) fn drop_large_buffer(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > IDLE_BUFFER_MAX {
            self.buf = BytesMut::new();
        }
    }

    /// The socket, if the connection is not TLS (only then can its bytes be spliced).
    pub(super) fn plain(&mut self) -> Option<&mut TcpStream> {
        match &mut self.transport {
            Transport::Plain(tcp) => Some(tcp),
            Transport::Tls(_) => None,
        }
    }

    /// The connection as an upgraded byte stream, with the bytes received past the `101`
    /// head. Plain TCP only: the TLS stream's reads and writes cannot run at once.
    pub(super) fn into_upgraded(self) -> Result<crate::upgrade::Upgraded, Error> {
        match self.transport {
            Transport::Plain(tcp) => {
                Ok(crate::upgrade::Upgraded::new(tcp, self.buf.freeze(), None))
            }
            Transport::Tls(_) => Err(Error::InvalidResponse(
                "101 Switching Protocols over TLS: upgrades need a plain-TCP upstream",
            )),
        }
    }

    /// [`poll_fill`](Self::poll_fill) bounded by `timeout` from the first call of a wait
    /// (`waiting` false; it is set while the wait goes on): the connection's one timer,
    /// as for its other waits. The error is `TimedOut`.
    pub(super) fn poll_fill_within(
        &mut self,
        cx: &mut Context<'_>,
        timeout: Duration,
        waiting: &mut bool,
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(result) = self.poll_fill(cx) {
            *waiting = false;
            return Poll::Ready(result);
        }
        if !*waiting {
            self.deadline.start(timeout);
            *waiting = true;
        }
        ready!(self.deadline.poll_elapsed(cx));
        *waiting = false;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no body bytes within the read timeout",
        )))
    }

    /// [`poll_fill`](Self::poll_fill) within `timeout`.
    pub(super) async fn fill(&mut self, timeout: Duration) -> Result<usize, Error> {
        self.deadline.start(timeout);
        poll_fn(|cx| {
            if let Poll::Ready(result) = self.poll_fill(cx) {
                return Poll::Ready(result.map_err(Error::Io));
            }
            ready!(self.deadline.poll_elapsed(cx));
            Poll::Ready(Err(Error::Timeout(
                "no response bytes within the read timeout",
            )))
        })
        .await
    }

    /// Sends `parts` in order within `timeout`; small ones together in one send.
    pub(super) async fn send<B: Part>(
        &mut self,
        parts: &[B],
        timeout: Duration,
    ) -> Result<(), Error> {
        self.deadline.start(timeout);
        let deadline = &mut self.deadline;
        let mut sending = pin!(send_parts(&mut self.transport, parts));
        poll_fn(|cx| {
            if let Poll::Ready(result) = sending.as_mut().poll(cx) {
                return Poll::Ready(result.map_err(Error::Io));
            }
            ready!(deadline.poll_elapsed(cx));
            Poll::Ready(Err(Error::Timeout(
                "request not sent within the write timeout",
            )))
        })
        .await
    }
}

/// A buffer [`Conn::send`] takes: the request head (`Rc<[u8]>`), body pieces (`Bytes`),
/// a head and body joined (`Vec<u8>`).
pub(super) trait Part: IoBuf + Clone + AsRef<[u8]> {}

impl<B: IoBuf + Clone + AsRef<[u8]>> Part for B {}

/// Sends `parts` in order; small ones together in one send.
async fn send_parts<B: Part>(transport: &mut Transport, parts: &[B]) -> io::Result<()> {
    match transport {
        Transport::Tls(tls) => {
            let slices: Vec<&[u8]> = parts.iter().map(|p| p.as_ref()).collect();
            // Boxed: the TLS send future is most of this one's size, which every
            // exchange holds; a TLS send costs far more than the allocation.
            Box::pin(tls.send_vectored(&slices)).await
        }
        Transport::Plain(tcp) => {
            let total: usize = parts.iter().map(|p| p.as_ref().len()).sum();
            if parts.len() > 1 && total <= COALESCE_MAX {
                let mut one = Vec::with_capacity(total);
                for part in parts {
                    one.extend_from_slice(part.as_ref());
                }
                return tcp.send_all(one).await.0;
            }
            for part in parts.iter().filter(|p| !p.as_ref().is_empty()) {
                tcp.send_all(part.clone()).await.0?;
            }
            Ok(())
        }
    }
}
