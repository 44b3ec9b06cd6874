//! What a connection runs over: plain TCP or TLS, and the TLS half of [`ConnIo`].
//!
//! The plain path is the one the rest of `conn` was written for: multishot receive
//! chunks copied into `inbuf`, sends of the output buffer straight to the socket fd,
//! files spliced to the socket. A TLS connection differs in three places, all here:
//!
//! - receive: rustls decrypts into `inbuf` directly ([`TlsStream::poll_recv_into`]), polled
//!   from the same `poll_fn` as the plain receive, so the connection task keeps no TLS
//!   future across its waits and is no larger for it;
//! - send: the bytes are sealed and sent by [`TlsStream::send_vectored`]. That future is
//!   boxed (one allocation per send, TLS only: rustls allocates one per record it seals
//!   anyway), so the plain flush future, which lives in every connection's task, does
//!   not grow;
//! - close: `close_notify` before the FIN, and files are read and sent encrypted instead
//!   of spliced (no kTLS here).
//!
//! While a TLS send is in flight the stream is moved out of the connection (the
//! `RefCell` is never borrowed across an await): a request body read from another task
//! meanwhile gets an error, as on the plain path.

use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::task::{Context, Poll};

use coreline_runtime::net::TcpStream;
use coreline_runtime::{AsSharedFd, SharedFd};
use coreline_tls::TlsStream;

use super::io::ConnIo;
use crate::pool;

/// Sends over TLS are cut into pieces of at most this size, each bounded by the write
/// timeout on its own (as one socket send is on the plain path). The TLS stream sends
/// each piece with one socket send.
const TLS_SEND_PIECE: usize = 256 * 1024;

/// The byte stream under one HTTP connection.
pub(crate) enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS, handshake done (boxed: rustls' connection state is large, and the plain
    /// variant should not pay for it).
    Tls(Box<TlsStream>),
    /// The TLS stream is lent to a send in flight, or was lost with a cancelled one.
    Lent,
}

impl Transport {
    /// The socket, for sends, splices and shutdown on the plain path.
    pub(crate) fn shared_fd(&self) -> SharedFd {
        match self {
            Transport::Plain(s) => s.as_shared_fd().clone(),
            Transport::Tls(t) => t.tcp().as_shared_fd().clone(),
            Transport::Lent => unreachable!("a new transport is never lent"),
        }
    }

    /// Whether bytes must go through TLS.
    pub(crate) fn is_tls(&self) -> bool {
        !matches!(self, Transport::Plain(_))
    }
}

fn lent() -> io::Error {
    io::Error::other("the TLS stream is in use elsewhere or was lost with a cancelled send")
}

impl ConnIo {
    /// Polls the TLS stream for plaintext, appended straight to `inbuf` (taking a buffer
    /// from the pool only while it has bytes, so an idle connection holds none).
    /// `Ok(false)` is the peer's `close_notify`; a TCP EOF without it is an error
    /// (`UnexpectedEof`): a truncation, never the end of a message.
    pub(super) fn poll_tls_recv(
        &self,
        tls: &mut TlsStream,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<bool>> {
        let mut inbuf = self.inbuf.borrow_mut();
        let lent_buffer = inbuf.capacity() == 0;
        if lent_buffer {
            *inbuf = pool::take_inbuf();
        }
        let was_empty = inbuf.is_empty();
        let polled = tls.poll_recv_into(cx, &mut inbuf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            crate::metrics::received(self, tls.received_at_us(), || was_empty);
        }
        if lent_buffer && inbuf.is_empty() {
            pool::put_inbuf(std::mem::take(&mut *inbuf));
        }
        polled.map(|r| r.map(|n| n > 0))
    }

    /// Sends the output buffer `buf` over TLS and puts it back, emptied.
    pub(super) async fn flush_tls(&self, mut buf: Vec<u8>) -> io::Result<()> {
        let result = self.tls_send(&buf).await;
        buf.clear();
        *self.out.borrow_mut() = buf;
        result
    }

    /// Encrypts and sends all of `data`, piece by piece, each bounded by the write timeout.
    pub(super) async fn tls_send(&self, data: &[u8]) -> io::Result<()> {
        let mut tls = self.lend_tls()?;
        let mut result = Ok(());
        for piece in data.chunks(TLS_SEND_PIECE) {
            self.set_deadline(self.core.config.timeouts.write);
            let mut send = pin!(tls.send_all(piece));
            result = poll_fn(|cx| self.poll_timed(send.as_mut(), cx))
                .await
                .and_then(|r| r);
            if result.is_err() {
                break;
            }
        }
        self.give_back_tls(tls);
        result
    }

    /// Sends `close_notify` (after anything rustls still queues, such as an alert for a
    /// protocol error), then half-closes the socket; bounded by the write timeout.
    pub(super) async fn tls_shutdown(&self) -> io::Result<()> {
        let mut tls = self.lend_tls()?;
        self.set_deadline(self.core.config.timeouts.write);
        let result = {
            let mut close = pin!(tls.shutdown());
            poll_fn(|cx| self.poll_timed(close.as_mut(), cx))
                .await
                .and_then(|r| r)
        };
        self.give_back_tls(tls);
        result
    }

    fn lend_tls(&self) -> io::Result<Box<TlsStream>> {
        let mut transport = self.transport.try_borrow_mut().map_err(|_| lent())?;
        match std::mem::replace(&mut *transport, Transport::Lent) {
            Transport::Tls(tls) => Ok(tls),
            other => {
                *transport = other;
                Err(lent())
            }
        }
    }

    fn give_back_tls(&self, tls: Box<TlsStream>) {
        if let Ok(mut transport) = self.transport.try_borrow_mut() {
            *transport = Transport::Tls(tls);
        }
    }
}
