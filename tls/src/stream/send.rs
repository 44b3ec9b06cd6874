//! The send half of [`TlsStream`]: the session seals plaintext into records and moves
//! them into the stream's one owned output `Vec`, and that `Vec` goes to the kernel by
//! value (one `send_all` per batch) and comes back emptied for the next call.

use std::io;
use std::net::Shutdown;

use super::TlsStream;
use crate::session::SealProgress;
use crate::Side;

/// The output buffer keeps at most this much capacity between sends (one full record and
/// then some), so one large response does not pin memory on an idle keep-alive connection.
const KEEP_CAPACITY: usize = 17 * 1024;

impl<K: Side> TlsStream<K> {
    /// Encrypts and sends all of `data`.
    pub async fn send_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.send_vectored(&[data]).await
    }

    /// Encrypts every part, in order, and sends the records with one socket send (several
    /// for payloads over 256 KiB). Parts totalling at most 4 KiB share one TLS record.
    /// The output buffer is reused: no allocation here in steady state (rustls itself
    /// allocates one buffer per record it seals).
    ///
    /// Dropping the future mid-send leaves the stream unusable (a record may be half
    /// sent): later sends fail with `BrokenPipe`.
    pub async fn send_vectored(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let mut out = self.take_out()?;
        let mut progress = SealProgress::default();
        while !self.session.seal_parts(parts, &mut progress, &mut out)? {
            out = self.transmit(out).await?;
        }
        self.finish_send(out).await
    }

    /// Sends `close_notify`, then shuts down the write side of the socket. Receiving still
    /// works, e.g. to wait for the peer's own `close_notify`.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.session.send_close_notify();
        self.flush().await?;
        self.tcp.shutdown(Shutdown::Write).await
    }

    /// Sends whatever rustls has queued (handshake flights, tickets, alerts).
    pub(super) async fn flush(&mut self) -> io::Result<()> {
        let mut out = self.take_out()?;
        self.session.move_records(&mut out)?;
        self.finish_send(out).await
    }

    /// Sends the last batch of `out` and puts the buffer back for the next call.
    async fn finish_send(&mut self, out: Vec<u8>) -> io::Result<()> {
        let mut out = if out.is_empty() {
            out
        } else {
            self.transmit(out).await?
        };
        out.shrink_to(KEEP_CAPACITY);
        self.out = Some(out);
        Ok(())
    }

    /// One `send_all` of the buffer; gives it back emptied.
    async fn transmit(&self, out: Vec<u8>) -> io::Result<Vec<u8>> {
        let (res, mut out) = self.tcp.send_all(out).await;
        res?;
        out.clear();
        Ok(out)
    }

    pub(super) fn take_out(&mut self) -> io::Result<Vec<u8>> {
        self.out.take().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "an earlier TLS send was cancelled or failed mid-record; the stream is unusable",
            )
        })
    }
}
