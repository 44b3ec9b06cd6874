//! What a connection runs over, plain TCP or TLS, and the receive and the TLS sends of
//! [`ConnIo`] by transport.
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
//!   of spliced (kTLS is not used).
//!
//! Each stream sits in a `Cell` and is taken out while in use: for a poll, and over TLS
//! for a whole send, so nothing is borrowed across an await. A request body read from
//! another task while the TLS stream is out for a send gets an error, as does a read on
//! either transport while another read is in progress.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use coreline_runtime::net::TcpStream;
use coreline_runtime::{AsSharedFd, SharedFd};
use coreline_tls::TlsStream;

use super::io::ConnIo;
use crate::conn_info::{ConnInfo, ConnectInfo, TlsInfo};
use crate::pool;

/// Sends over TLS are cut into pieces of at most this size, each bounded by the write
/// timeout on its own (as one socket send is on the plain path). The TLS stream sends
/// each piece with one socket send.
const TLS_SEND_PIECE: usize = 256 * 1024;

/// The byte stream under one HTTP connection; the variant is fixed for the connection's
/// life. A stream is `None` while it is taken out for use (or after it was lost with a
/// cancelled send).
pub(crate) enum Transport {
    /// Plain TCP.
    Plain(Cell<Option<TcpStream>>),
    /// TLS, handshake done (boxed: rustls' connection state is large, and the plain
    /// variant should not pay for it).
    Tls(Cell<Option<Box<TlsStream>>>),
}

impl Transport {
    /// A plain TCP connection.
    pub(crate) fn plain(stream: TcpStream) -> Self {
        Transport::Plain(Cell::new(Some(stream)))
    }

    /// A TLS connection whose handshake is done.
    pub(crate) fn tls(stream: TlsStream) -> Self {
        Transport::Tls(Cell::new(Some(Box::new(stream))))
    }

    /// The socket, for sends, splices and shutdown on the plain path.
    pub(crate) fn shared_fd(&self) -> SharedFd {
        let fd = |stream: Option<&TcpStream>| match stream {
            Some(s) => s.as_shared_fd().clone(),
            None => unreachable!("a new transport's stream is in place"),
        };
        match self {
            Transport::Plain(cell) => {
                let stream = cell.take();
                let shared = fd(stream.as_ref());
                cell.set(stream);
                shared
            }
            Transport::Tls(cell) => {
                let stream = cell.take();
                let shared = fd(stream.as_deref().map(TlsStream::tcp));
                cell.set(stream);
                shared
            }
        }
    }

    /// The connection's addresses and TLS facts. (Called at a request's start, when no
    /// send holds the stream; an address that cannot be read is reported unspecified.)
    pub(crate) fn conn_info(&self) -> ConnInfo {
        let unknown = SocketAddr::from(([0, 0, 0, 0], 0));
        let addrs = |tcp: &TcpStream| {
            let peer = tcp.peer_addr().unwrap_or(unknown);
            ConnectInfo::new(peer, tcp.local_addr().unwrap_or(unknown))
        };
        let none = ConnectInfo::new(unknown, unknown);
        match self {
            Transport::Plain(cell) => {
                let stream = cell.take();
                let connect = stream.as_ref().map_or(none, addrs);
                cell.set(stream);
                ConnInfo::new(connect, None)
            }
            Transport::Tls(cell) => {
                let stream = cell.take();
                let connect = stream.as_deref().map_or(none, |s| addrs(s.tcp()));
                let tls = stream.as_deref().map(TlsInfo::of);
                cell.set(stream);
                ConnInfo::new(connect, tls)
            }
        }
    }

    /// Whether bytes must go through TLS.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }
}

fn read_elsewhere() -> io::Error {
    io::Error::other("connection is being read elsewhere")
}

fn lent() -> io::Error {
    io::Error::other("the TLS stream is in use elsewhere or was lost with a cancelled send")
}

impl ConnIo {
    /// Polls the transport for received bytes, appended to `inbuf` (and stamped for the
    /// metrics). `Ok(false)` is the peer's clean close: a TCP FIN, or over TLS
    /// `close_notify` (a TCP EOF without it is an `UnexpectedEof` error: a truncation,
    /// never the end of a message).
    pub(super) fn poll_read(&self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        match &self.transport {
            Transport::Plain(cell) => {
                let Some(mut stream) = cell.take() else {
                    return Poll::Ready(Err(read_elsewhere()));
                };
                let polled = match stream.poll_recv(cx) {
                    Poll::Ready(Ok(Some(buf))) => {
                        self.stamp_received(buf.reaped_at_us(), || self.inbuf_is_empty());
                        self.append(&buf);
                        Poll::Ready(Ok(true))
                    }
                    Poll::Ready(Ok(None)) => Poll::Ready(Ok(false)),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                };
                cell.set(Some(stream));
                polled
            }
            Transport::Tls(cell) => {
                let Some(mut tls) = cell.take() else {
                    return Poll::Ready(Err(read_elsewhere()));
                };
                let polled = self.poll_tls_read(&mut tls, cx);
                cell.set(Some(tls));
                polled
            }
        }
    }

    /// Appends received bytes to the input buffer, taking one from the pool if idle.
    fn append(&self, data: &[u8]) {
        let mut inbuf = self.inbuf.borrow_mut();
        if inbuf.capacity() == 0 {
            *inbuf = pool::take_inbuf();
        }
        // Reclaims the buffer's storage in place once the requests sliced from it are gone.
        inbuf.reserve(data.len());
        inbuf.extend_from_slice(data);
    }

    /// Polls the TLS stream for plaintext, decrypted straight into `inbuf` (taking a
    /// buffer from the pool only while it has bytes, so an idle connection holds none).
    fn poll_tls_read(&self, tls: &mut TlsStream, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let mut inbuf = self.inbuf.borrow_mut();
        let lent_buffer = inbuf.capacity() == 0;
        if lent_buffer {
            *inbuf = pool::take_inbuf();
        }
        let was_empty = inbuf.is_empty();
        let polled = tls.poll_recv_into(cx, &mut inbuf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.stamp_received(tls.received_at_us(), || was_empty);
        }
        if lent_buffer && inbuf.is_empty() {
            pool::put_inbuf(std::mem::take(&mut *inbuf));
        }
        polled.map(|r| r.map(|n| n > 0))
    }

    /// The TLS leg of [`send_all`](Self::send_all): encrypts and sends all of `data`,
    /// piece by piece, each bounded by the write timeout.
    pub(super) async fn tls_send(&self, data: &[u8]) -> io::Result<()> {
        let mut tls = self.lend_tls()?;
        let mut result = Ok(());
        for piece in data.chunks(TLS_SEND_PIECE) {
            result = self
                .timed_moving(tls.send_all(piece), piece.len())
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
        let result = self.timed(tls.shutdown()).await.and_then(|r| r);
        self.give_back_tls(tls);
        result
    }

    /// Moves the TLS stream out for a send (no borrow is held across its awaits).
    fn lend_tls(&self) -> io::Result<Box<TlsStream>> {
        match &self.transport {
            Transport::Tls(cell) => cell.take().ok_or_else(lent),
            Transport::Plain(_) => Err(lent()),
        }
    }

    fn give_back_tls(&self, tls: Box<TlsStream>) {
        if let Transport::Tls(cell) = &self.transport {
            cell.set(Some(tls));
        }
    }
}
