//! The two ends of `tls_http`'s in-memory connection: [`Server`], a
//! `coreline_tls::TlsSession` driven step for step as `coreline_tls::TlsStream` drives it
//! with the socket replaced by a [`Peer`], and [`Client`], a real rustls client behind
//! such a socket whose bytes arrive cut into TCP chunks of a fixed size.

use std::io::{self, Read, Write};

use bytes::{Bytes, BytesMut};
use coreline_tls::rustls::{ClientConnection, ServerConnection};
use coreline_tls::{Received, SealProgress, TlsSession};

/// The other end of the server's socket.
pub trait Peer {
    /// The next TCP chunk the server receives, or `None` for the end of the stream.
    fn next_chunk(&mut self) -> Option<Bytes>;
    /// Bytes the server sends (one socket send).
    fn deliver(&mut self, records: &[u8]);
}

/// Bytes cut into chunks of `size` (the last one shorter), each a slice of the same buffer.
pub struct Cutter {
    wire: Bytes,
    at: usize,
    size: usize,
}

impl Cutter {
    /// `wire` to be cut into chunks of `size` bytes.
    pub fn new(wire: Bytes, size: usize) -> Self {
        Cutter { wire, at: 0, size }
    }

    fn is_empty(&self) -> bool {
        self.at == self.wire.len()
    }

    /// The next chunk, `None` once all is cut.
    pub fn next_chunk(&mut self) -> Option<Bytes> {
        let end = self.wire.len().min(self.at + self.size);
        let chunk = (self.at < end).then(|| self.wire.slice(self.at..end));
        self.at = end;
        chunk
    }
}

/// The server: what `TlsStream` does around its session, with `Peer` calls where it
/// receives from and sends to the socket.
pub struct Server {
    session: TlsSession<Bytes>,
    /// The output buffer, emptied by every send to the peer.
    out: Vec<u8>,
}

impl Server {
    /// A server over a fresh rustls connection.
    pub fn new(conn: ServerConnection) -> Self {
        Server {
            session: TlsSession::new(conn),
            out: Vec::new(),
        }
    }

    /// `TlsStream::handshake`: `Ok(false)` if the peer ended the stream first; on a TLS
    /// error the alert is sent first.
    pub fn handshake(&mut self, peer: &mut impl Peer) -> io::Result<bool> {
        loop {
            match self.session.advance_handshake() {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    let _ = self.flush(peer);
                    return Err(e);
                }
            }
            self.flush(peer)?;
            assert!(
                self.session.wants_chunk(),
                "the handshake stopped mid-chunk"
            );
            match peer.next_chunk() {
                Some(chunk) => self.session.push_chunk(chunk),
                None => return Ok(false),
            }
        }
        self.flush(peer)?;
        Ok(true)
    }

    /// `TlsStream::poll_recv_into`: the plaintext appended to `dst`, `Ok(0)` after
    /// `close_notify`, `UnexpectedEof` for a truncation.
    pub fn recv_into(&mut self, peer: &mut impl Peer, dst: &mut BytesMut) -> io::Result<usize> {
        loop {
            match self.session.read_plaintext(dst)? {
                Received::Plaintext(n) => {
                    assert!(n > 0, "an empty read reported as plaintext");
                    return Ok(n);
                }
                Received::Closed => return Ok(0),
                Received::NeedBytes => {}
            }
            assert!(self.session.wants_chunk(), "more bytes wanted mid-chunk");
            match peer.next_chunk() {
                Some(chunk) => self.session.push_chunk(chunk),
                None => self.session.push_eof()?,
            }
        }
    }

    /// `TlsStream::send_vectored`: the parts sealed, sent in batches.
    pub fn send_vectored(&mut self, peer: &mut impl Peer, parts: &[&[u8]]) -> io::Result<()> {
        let mut progress = SealProgress::default();
        while !self
            .session
            .seal_parts(parts, &mut progress, &mut self.out)?
        {
            self.transmit(peer);
        }
        self.transmit(peer);
        Ok(())
    }

    /// `TlsStream::shutdown`: `close_notify` sent (the socket's half-close is the caller's).
    pub fn shutdown(&mut self, peer: &mut impl Peer) -> io::Result<()> {
        self.session.send_close_notify();
        self.flush(peer)
    }

    /// Sends whatever rustls has queued (handshake flights, tickets, alerts).
    pub fn flush(&mut self, peer: &mut impl Peer) -> io::Result<()> {
        self.session.move_records(&mut self.out)?;
        self.transmit(peer);
        Ok(())
    }

    fn transmit(&mut self, peer: &mut impl Peer) {
        if !self.out.is_empty() {
            peer.deliver(&self.out);
            self.out.clear();
        }
    }
}

/// A rustls client as the server's peer. Its records go out as TCP chunks of one size,
/// cut without regard to record boundaries; once its handshake is done, `script` writes
/// the application data, so its last flight shares a chunk with the first data.
pub struct Client<S: FnOnce(&mut ClientConnection)> {
    conn: ClientConnection,
    wire: Cutter,
    script: Option<S>,
    /// The plaintext the server sent.
    pub received: Vec<u8>,
    /// Whether the server's `close_notify` arrived.
    pub closed: bool,
}

impl<S: FnOnce(&mut ClientConnection)> Client<S> {
    /// A client sending in TCP chunks of `tcp_chunk` bytes, running `script` once its
    /// handshake is done.
    pub fn new(conn: ClientConnection, tcp_chunk: usize, script: S) -> Self {
        Client {
            conn,
            wire: Cutter::new(Bytes::new(), tcp_chunk),
            script: Some(script),
            received: Vec::new(),
            closed: false,
        }
    }
}

impl<S: FnOnce(&mut ClientConnection)> Peer for Client<S> {
    fn next_chunk(&mut self) -> Option<Bytes> {
        if self.wire.is_empty() {
            if !self.conn.is_handshaking() {
                if let Some(script) = self.script.take() {
                    script(&mut self.conn);
                }
            }
            let mut wire = Vec::new();
            while self.conn.wants_write() {
                self.conn.write_tls(&mut wire).unwrap();
            }
            self.wire = Cutter::new(wire.into(), self.wire.size);
        }
        self.wire.next_chunk()
    }

    fn deliver(&mut self, mut records: &[u8]) {
        while !records.is_empty() {
            self.conn.read_tls(&mut records).unwrap();
            let state = self
                .conn
                .process_new_packets()
                .expect("the server's records");
            let start = self.received.len();
            self.received
                .resize(start + state.plaintext_bytes_to_read(), 0);
            self.conn
                .reader()
                .read_exact(&mut self.received[start..])
                .unwrap();
            self.closed |= state.peer_has_closed();
        }
    }
}

/// Writes `payload` into `client` in pieces the seed cuts, with a key update halfway when
/// asked (TLS 1.3 only), then `close_notify` when asked.
pub fn write_payload(
    client: &mut ClientConnection,
    seed: u8,
    payload: &[u8],
    key_update: bool,
    close: bool,
) {
    let mut at = 0;
    let mut step = 0usize;
    while at < payload.len() {
        let end = (at + (seed as usize * 13 + step * 29) % 700 + 1).min(payload.len());
        client.writer().write_all(&payload[at..end]).unwrap();
        if key_update && at < payload.len() / 2 && end >= payload.len() / 2 {
            client.refresh_traffic_keys().unwrap();
        }
        at = end;
        step += 1;
    }
    if close {
        client.send_close_notify();
    }
}
