//! [`TlsSession`]: the byte processing of a TLS connection (either end), without any I/O.
//!
//! It takes what arrived from the socket (chunks, then the end of the stream) and says
//! what follows from it: plaintext to read, records to send, the peer's clean close
//! (`close_notify`), a truncation or a protocol error. [`TlsStream`](crate::TlsStream)
//! runs every receive and send through one, doing only the socket I/O itself; the
//! `tls_http` fuzz target drives the same type over memory.
//!
//! Receive: a chunk is fed to rustls from its own memory (`read_tls` from the slice:
//! rustls copies it into its record buffer and decrypts there), and the plaintext is
//! appended to the caller's `BytesMut`. rustls may stop taking bytes mid-chunk (when the
//! handshake ends and application data follows in the same segment), so the session
//! keeps the chunk's unfed tail and the chunk itself until rustls has taken all of it:
//! a ring buffer goes back to the ring the moment its last byte is fed.
//!
//! Send (in `seal.rs`): plaintext is sealed into records and the records are moved into
//! a caller's output `Vec`.

mod seal;

use std::io::{self, BufRead};
use std::ops::Deref;

use bytes::BytesMut;
use rustls::ServerConnection;

use crate::Side;

pub use seal::SealProgress;

/// What a call to [`TlsSession::read_plaintext`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// This many bytes of plaintext (at least one) were appended to the caller's buffer.
    Plaintext(usize),
    /// The peer sent `close_notify` and everything before it has been read: a clean end.
    Closed,
    /// Everything received so far is processed and holds no more plaintext: the next
    /// chunk ([`TlsSession::push_chunk`]) or the end of the stream
    /// ([`TlsSession::push_eof`]) is needed.
    NeedBytes,
}

/// What rustls holds in plaintext for the reader.
enum Plain {
    /// This many bytes were appended to the caller's buffer.
    Got(usize),
    /// The peer sent `close_notify` and everything before it was read.
    Closed,
    /// Nothing yet: more records are needed.
    Nothing,
}

/// A rustls connection (server by default, or client: see [`Side`]) and the unfed tail of the last received chunk, driven
/// without I/O: the caller receives chunks of type `C` (any owner of bytes, such as the
/// runtime's `RecvBuf` or a `&[u8]`) and sends the records it is given.
///
/// Errors: a TLS protocol error is `InvalidData` (rustls then queues an alert: move it
/// out with [`move_records`](Self::move_records) and send it, best effort). Reading after
/// the end of the stream without `close_notify` is `UnexpectedEof`: a truncation, never
/// the end of a message.
pub struct TlsSession<C, K = ServerConnection> {
    conn: K,
    /// The last received chunk and how much of it rustls has taken, while some is left.
    pending: Option<(C, usize)>,
    /// Staging buffer for coalescing the parts of a small vectored send.
    staging: Vec<u8>,
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl<C: Deref<Target = [u8]>, K: Side> TlsSession<C, K> {
    /// A session over a fresh rustls connection (nothing received yet).
    pub fn new(conn: K) -> Self {
        TlsSession {
            conn,
            pending: None,
            staging: Vec::new(),
        }
    }

    /// Whether the session has taken all of the last chunk, so the next may be pushed.
    pub fn wants_chunk(&self) -> bool {
        self.pending.is_none()
    }

    /// Hands over the next chunk received from the socket. Call only when
    /// [`wants_chunk`](Self::wants_chunk): the previous chunk must be used up first, so
    /// bytes stay in order.
    pub fn push_chunk(&mut self, chunk: C) {
        debug_assert!(
            self.pending.is_none(),
            "a chunk pushed before the last was used"
        );
        self.pending = Some((chunk, 0));
    }

    /// Tells rustls the transport ended. The next [`read_plaintext`](Self::read_plaintext)
    /// reports [`Received::Closed`] if `close_notify` came first, else `UnexpectedEof`.
    pub fn push_eof(&mut self) -> io::Result<()> {
        self.conn.read_tls(&mut &[][..]).map(drop)
    }

    /// Advances the handshake with what was received. `Ok(true)` once it is done (any
    /// bytes after it stay pending for [`read_plaintext`](Self::read_plaintext)), `Ok(false)`
    /// when it needs the next chunk. The records to send before receiving more (server
    /// flights, TLS 1.3 session tickets) are then queued: see
    /// [`move_records`](Self::move_records).
    pub fn advance_handshake(&mut self) -> io::Result<bool> {
        loop {
            if !self.conn.is_handshaking() {
                return Ok(true);
            }
            if self.pending.is_none() {
                return Ok(false);
            }
            self.absorb(None)?;
        }
    }

    /// Appends the plaintext the received bytes hold to `dst` (one copy, no
    /// zero-filling), processing as much of the pending chunk as it takes to find some.
    /// Records rustls queues meanwhile (a KeyUpdate answer) wait for the next
    /// [`move_records`](Self::move_records).
    pub fn read_plaintext(&mut self, dst: &mut BytesMut) -> io::Result<Received> {
        loop {
            match self.drain_plaintext(dst)? {
                Plain::Got(n) => return Ok(Received::Plaintext(n)),
                Plain::Closed => return Ok(Received::Closed),
                Plain::Nothing => {}
            }
            if self.pending.is_none() {
                return Ok(Received::NeedBytes);
            }
            match self.absorb(Some(dst))? {
                0 => continue,
                n => return Ok(Received::Plaintext(n)),
            }
        }
    }

    /// Reads plaintext into `buf`, the `std::io::Read` way (for slice readers such as the
    /// `futures-io` traits): `Some(n)` with `n` bytes, `Some(0)` (with room in `buf`) after
    /// the peer's `close_notify`; `None` when the next chunk or the end of the stream is
    /// needed. Errors as [`read_plaintext`](Self::read_plaintext).
    pub fn read_into(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match io::Read::read(&mut self.conn.reader(), buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.pending.is_none() {
                return Ok(None);
            }
            self.absorb(None)?;
        }
    }

    /// The rustls connection, for anything not covered here.
    pub fn connection(&self) -> &K {
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
            } // else the chunk drops here: a ring buffer goes back to the ring now.
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

    /// Moves the plaintext rustls holds into `dst`.
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
}

impl<C, K: Side> std::fmt::Debug for TlsSession<C, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("version", &self.conn.protocol_version())
            .field("handshaking", &self.conn.is_handshaking())
            .field("pending", &self.pending.is_some())
            .finish()
    }
}
