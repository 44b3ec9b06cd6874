//! `TlsStream`: a rustls connection (server or client end) driven over a runtime [`TcpStream`].
//!
//! The stream does only the socket I/O: every received chunk ([`RecvBuf`], fed straight
//! from the ring's memory) goes into its [`TlsSession`], which turns it into plaintext,
//! records to send, a clean close or an error; every send seals through the same session.
//!
//! Send (in `send.rs`): the session moves the records into an output `Vec`, and that
//! `Vec` is handed to the kernel by value and comes back with the result; between sends
//! its storage waits among the thread's spare buffers (`spare.rs`), not in the stream.

#[cfg(feature = "futures-io")]
mod compat;
mod send;
mod spare;

use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use coreline_runtime::net::TcpStream;
use coreline_runtime::RecvBuf;
use rustls::{HandshakeKind, ProtocolVersion, ServerConnection, SupportedCipherSuite};

use crate::session::{Received, TlsSession};
use crate::Side;

/// A TLS connection over a runtime [`TcpStream`], returned once the handshake is done: the
/// server end ([`ServerConnection`], the default) by
/// [`TlsAcceptor::accept`](crate::TlsAcceptor::accept), the client end
/// ([`ClientConnection`](rustls::ClientConnection)) by
/// [`TlsConnector::connect`](crate::TlsConnector::connect).
///
/// `!Send`, like the `TcpStream` it owns: it lives on the core that accepted it.
pub struct TlsStream<K = ServerConnection> {
    tcp: TcpStream,
    /// The rustls connection and the unfed tail of the last received chunk.
    session: TlsSession<RecvBuf, K>,
    /// [`RecvBuf::reaped_at_us`] of the latest chunk received (0 before any).
    received_at_us: u64,
    /// Whether the stream may send: `Some` (an empty `Vec`, no storage) between sends;
    /// `None` while a send is in flight (it holds the output buffer), or forever after a
    /// send future was dropped mid-flight (part of a record may have left: the stream
    /// cannot continue, and later sends fail with `BrokenPipe`).
    out: Option<Vec<u8>>,
    /// The send of a `futures-io` write in flight (it holds `out` meanwhile).
    #[cfg(feature = "futures-io")]
    sending: Option<compat::Sending>,
    /// The write-side shutdown of a `futures-io` close in flight.
    #[cfg(feature = "futures-io")]
    closing: Option<std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<()>>>>>,
}

impl<K: Side> TlsStream<K> {
    /// Runs the handshake on `tcp`, failing with `TimedOut` if it has not finished within
    /// `limit` (the acceptor's and the connector's handshake timeout).
    pub(crate) async fn handshake_within(
        tcp: TcpStream,
        conn: K,
        limit: std::time::Duration,
    ) -> io::Result<Self> {
        match coreline_runtime::time::timeout(limit, Self::handshake(tcp, conn)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("TLS handshake not finished within {limit:?}"),
            )),
        }
    }

    /// Runs the handshake on `tcp` (without a deadline: see `handshake_within`).
    pub(crate) async fn handshake(tcp: TcpStream, conn: K) -> io::Result<Self> {
        let mut s = TlsStream {
            tcp,
            session: TlsSession::new(conn),
            received_at_us: 0,
            out: Some(Vec::new()),
            #[cfg(feature = "futures-io")]
            sending: None,
            #[cfg(feature = "futures-io")]
            closing: None,
        };
        loop {
            match s.session.advance_handshake() {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => return Err(s.fail(e).await),
            }
            s.flush().await?;
            match s.tcp.recv().await? {
                Some(chunk) => {
                    s.received_at_us = chunk.reaped_at_us();
                    s.session.push_chunk(chunk);
                }
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "peer closed the connection during the TLS handshake",
                    ))
                }
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
            match self.session.read_plaintext(dst)? {
                Received::Plaintext(n) => return Poll::Ready(Ok(n)),
                Received::Closed => return Poll::Ready(Ok(0)),
                Received::NeedBytes => {}
            }
            match ready!(self.tcp.poll_recv(cx))? {
                Some(chunk) => {
                    self.received_at_us = chunk.reaped_at_us();
                    self.session.push_chunk(chunk);
                }
                // The next read reports Closed if close_notify came first, else
                // UnexpectedEof.
                None => self.session.push_eof()?,
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
        self.connection().protocol_version()
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<SupportedCipherSuite> {
        self.connection().negotiated_cipher_suite()
    }

    /// The ALPN protocol agreed on (e.g. `b"http/1.1"`), if the client offered ALPN.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.connection().alpn_protocol()
    }

    /// Whether this connection resumed an earlier session (ticket or session ID).
    pub fn is_resumed(&self) -> bool {
        self.connection().handshake_kind() == Some(HandshakeKind::Resumed)
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
    pub fn connection(&self) -> &K {
        self.session.connection()
    }

    /// Sends the alert rustls queued for a fatal error (best effort) and returns `e`.
    async fn fail(&mut self, e: io::Error) -> io::Error {
        let _ = self.flush().await;
        e
    }
}

impl TlsStream<ServerConnection> {
    /// The server name the client asked for (SNI, lowercase), if any.
    pub fn server_name(&self) -> Option<&str> {
        self.connection().server_name()
    }
}

impl<K: Side> std::fmt::Debug for TlsStream<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.tcp)
            .field("version", &self.connection().protocol_version())
            .field("resumed", &self.is_resumed())
            .finish()
    }
}
