//! `TlsStream`: a rustls server connection driven over a runtime [`TcpStream`].
//!
//! Receive: each provided-buffer chunk ([`RecvBuf`]) is fed to rustls straight from the
//! ring's memory (`read_tls` from the slice: rustls copies it into its record buffer and
//! decrypts there), and the plaintext is appended to the caller's `BytesMut`. The chunk
//! goes back to the ring as soon as rustls has taken all of it.
//!
//! Send (in `send.rs`): plaintext is encrypted by rustls, its records are moved into one
//! owned per-stream `Vec` (`write_tls`), and that `Vec` is handed to the kernel by value
//! and comes back with the result, so it is reused from call to call.

#[cfg(feature = "futures-io")]
mod compat;
mod send;

use std::io::{self, BufRead};
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use coreline_runtime::net::TcpStream;
use coreline_runtime::RecvBuf;
use rustls::{HandshakeKind, ProtocolVersion, ServerConnection, SupportedCipherSuite};

/// What rustls holds in plaintext for the reader.
enum Plain {
    /// This many bytes were appended to the caller's buffer.
    Got(usize),
    /// The peer sent `close_notify` and everything before it was read.
    Closed,
    /// Nothing yet: more records are needed.
    Nothing,
}

/// A server-side TLS connection over a runtime [`TcpStream`], returned by
/// [`TlsAcceptor::accept`](crate::TlsAcceptor::accept) once the handshake is done.
///
/// `!Send`, like the `TcpStream` it owns: it lives on the core that accepted it.
pub struct TlsStream {
    tcp: TcpStream,
    conn: ServerConnection,
    /// The unfed tail of the last received chunk: rustls may stop taking bytes mid-chunk
    /// (e.g. when the handshake ends and application data follows in the same segment).
    pending: Option<(RecvBuf, usize)>,
    /// [`RecvBuf::reaped_at_us`] of the latest chunk received (0 before any).
    received_at_us: u64,
    /// The owned output buffer. `None` only while a send is in flight, or forever after a
    /// send future was dropped mid-flight (part of a record may have left: the stream
    /// cannot continue, and later sends fail with `BrokenPipe`).
    out: Option<Vec<u8>>,
    /// Staging buffer for coalescing the parts of a small vectored send.
    plain: Vec<u8>,
    /// The send of a `futures-io` write in flight (it holds `out` meanwhile).
    #[cfg(feature = "futures-io")]
    sending: Option<compat::Sending>,
    /// The write-side shutdown of a `futures-io` close in flight.
    #[cfg(feature = "futures-io")]
    closing: Option<std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<()>>>>>,
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// Runs the server handshake on `tcp` (without a deadline: the acceptor adds one).
    pub(crate) async fn handshake(tcp: TcpStream, conn: ServerConnection) -> io::Result<Self> {
        let mut s = TlsStream {
            tcp,
            conn,
            pending: None,
            received_at_us: 0,
            out: Some(Vec::new()),
            plain: Vec::new(),
            #[cfg(feature = "futures-io")]
            sending: None,
            #[cfg(feature = "futures-io")]
            closing: None,
        };
        while s.conn.is_handshaking() {
            if s.pending.is_none() {
                s.flush().await?;
                match s.tcp.recv().await? {
                    Some(chunk) => {
                        s.received_at_us = chunk.reaped_at_us();
                        s.pending = Some((chunk, 0));
                    }
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "peer closed the connection during the TLS handshake",
                        ))
                    }
                }
            }
            if let Err(e) = s.absorb(None) {
                return Err(s.fail(e).await);
            }
        }
        // The last flight, and TLS 1.3 session tickets, go out now rather than with the
        // first response, so a client that only resumes later still gets its ticket.
        s.flush().await?;
        Ok(s)
    }

    /// Receives decrypted application data, appending it to `dst`; returns how many bytes
    /// were appended.
    ///
    /// `Ok(0)` only after the peer's `close_notify` (a clean end). A TCP EOF without
    /// `close_notify` is `Err(UnexpectedEof)`: a truncation, not the end of a message.
    /// A TLS protocol error is `Err(InvalidData)` (the alert is sent, best effort).
    ///
    /// Cancel-safe: dropping the future loses no data, since it only waits in the
    /// runtime's receive, which keeps chunks for the next call. Records rustls queued
    /// meanwhile (a KeyUpdate answer) go out with the next send.
    pub async fn recv_into(&mut self, dst: &mut BytesMut) -> io::Result<usize> {
        match std::future::poll_fn(|cx| self.poll_recv_into(cx, dst)).await {
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(self.fail(e).await),
            other => other,
        }
    }

    /// The poll form of [`recv_into`](Self::recv_into), for callers that keep no future
    /// across waits (the HTTP connection loop polls it from a `poll_fn`, so the TLS
    /// stream adds nothing to a connection task's size). Same results, except that on a
    /// TLS error (`InvalidData`) the alert rustls queued is not sent here: send it with
    /// [`send_queued`](Self::send_queued) (or [`shutdown`](Self::shutdown)) if wanted.
    pub fn poll_recv_into(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.drain_plaintext(dst)? {
                Plain::Got(n) => return Poll::Ready(Ok(n)),
                Plain::Closed => return Poll::Ready(Ok(0)),
                Plain::Nothing => {}
            }
            if self.pending.is_some() {
                match self.absorb(Some(dst))? {
                    0 => continue,
                    n => return Poll::Ready(Ok(n)),
                }
            }
            match ready!(self.tcp.poll_recv(cx))? {
                Some(chunk) => {
                    self.received_at_us = chunk.reaped_at_us();
                    self.pending = Some((chunk, 0));
                }
                // Tell rustls the transport ended: the next drain reports Closed if
                // close_notify came first, else UnexpectedEof.
                None => {
                    self.conn.read_tls(&mut &[][..])?;
                }
            }
        }
    }

    /// When the latest received chunk arrived, as [`RecvBuf::reaped_at_us`] (0 before any
    /// or with metrics off): the arrival of the plaintext just returned by
    /// [`poll_recv_into`](Self::poll_recv_into) unless rustls held it from an earlier chunk.
    pub fn received_at_us(&self) -> u64 {
        self.received_at_us
    }

    /// Sends whatever rustls has queued and not sent yet: an alert after a failed
    /// [`poll_recv_into`](Self::poll_recv_into), or the answer to a peer's KeyUpdate.
    pub async fn send_queued(&mut self) -> io::Result<()> {
        self.flush().await
    }

    /// The negotiated protocol version (`TLSv1_3` or `TLSv1_2`).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.conn.protocol_version()
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<SupportedCipherSuite> {
        self.conn.negotiated_cipher_suite()
    }

    /// The ALPN protocol agreed on (e.g. `b"http/1.1"`), if the client offered ALPN.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The server name the client asked for (SNI, lowercase), if any.
    pub fn server_name(&self) -> Option<&str> {
        self.conn.server_name()
    }

    /// Whether this connection resumed an earlier session (ticket or session ID).
    pub fn is_resumed(&self) -> bool {
        self.conn.handshake_kind() == Some(HandshakeKind::Resumed)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    /// The underlying TCP stream (for socket options; reading or writing it directly
    /// would corrupt the TLS stream).
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// The rustls connection, for anything not covered here.
    pub fn connection(&self) -> &ServerConnection {
        &self.conn
    }

    /// Feeds the pending chunk to rustls and processes the records. With `dst`, appends
    /// the plaintext as it appears; without (handshake), stops once the handshake is done
    /// and leaves the rest pending. Returns the bytes appended.
    fn absorb(&mut self, mut dst: Option<&mut BytesMut>) -> io::Result<usize> {
        let mut appended = 0;
        while let Some((chunk, at)) = self.pending.take() {
            let mut rest = &chunk[at..];
            let took = self.conn.read_tls(&mut rest)?;
            if !rest.is_empty() {
                self.pending = Some((chunk, at + took));
            } // else the chunk drops here: its buffer goes back to the ring now.
            self.conn.process_new_packets().map_err(tls_error)?;
            match dst.as_deref_mut() {
                Some(dst) => match self.drain_plaintext(dst)? {
                    Plain::Got(n) => appended += n,
                    Plain::Closed => break,
                    Plain::Nothing => {}
                },
                None if !self.conn.is_handshaking() => break,
                None => {}
            }
            if took == 0 {
                break; // rustls took nothing; do not spin (cannot happen with a non-empty slice)
            }
        }
        Ok(appended)
    }

    /// Moves the plaintext rustls holds into `dst` (one copy, no zero-filling).
    fn drain_plaintext(&mut self, dst: &mut BytesMut) -> io::Result<Plain> {
        let mut total = 0;
        loop {
            let mut reader = self.conn.reader();
            match reader.fill_buf() {
                Ok([]) if total == 0 => return Ok(Plain::Closed),
                Ok([]) => return Ok(Plain::Got(total)),
                Ok(data) => {
                    let n = data.len();
                    dst.extend_from_slice(data);
                    reader.consume(n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || total > 0 => {
                    // Data already copied is returned first; an EOF error comes next call.
                    return Ok(if total > 0 {
                        Plain::Got(total)
                    } else {
                        Plain::Nothing
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends the alert rustls queued for a fatal error (best effort) and returns `e`.
    async fn fail(&mut self, e: io::Error) -> io::Error {
        let _ = self.flush().await;
        e
    }
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.tcp)
            .field("version", &self.conn.protocol_version())
            .field("server_name", &self.conn.server_name())
            .field("resumed", &self.is_resumed())
            .finish()
    }
}
