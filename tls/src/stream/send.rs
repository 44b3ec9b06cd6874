//! The send half of [`TlsStream`]: rustls seals plaintext into records, the records are
//! moved into the stream's one owned output `Vec`, and that `Vec` goes to the kernel by
//! value (one `send_all`) and comes back emptied for the next call.

use std::io::{self, Write};
use std::net::Shutdown;

use super::TlsStream;

/// Vectored sends up to this many bytes are copied into one buffer first so that head and
/// body (or a batch of pipelined responses) leave in a single TLS record: one AEAD seal,
/// one header and tag. Above it the copy would cost more than the extra record saves.
const COALESCE_MAX: usize = 4 * 1024;
/// Larger payloads are sent in batches of about this many bytes, bounding the output
/// buffer instead of holding a whole file's ciphertext.
const BATCH: usize = 256 * 1024;
/// The output buffer keeps at most this much capacity between sends (one full record and
/// then some), so one large response does not pin memory on an idle keep-alive connection.
const KEEP_CAPACITY: usize = 17 * 1024;

impl TlsStream {
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
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if parts.len() > 1 && total <= COALESCE_MAX {
            let mut plain = std::mem::take(&mut self.plain);
            plain.clear();
            for part in parts {
                plain.extend_from_slice(part);
            }
            let sealed = self.seal(&plain, &mut out);
            self.plain = plain;
            sealed?;
        } else {
            for part in parts {
                for piece in part.chunks(BATCH) {
                    self.seal(piece, &mut out)?;
                    if out.len() >= BATCH {
                        out = self.transmit(out).await?;
                    }
                }
            }
        }
        self.finish_send(out).await
    }

    /// Sends `close_notify`, then shuts down the write side of the socket. Receiving still
    /// works, e.g. to wait for the peer's own `close_notify`.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush().await?;
        self.tcp.shutdown(Shutdown::Write).await
    }

    /// Encrypts `data` and appends the records to `out`, looping because rustls accepts at
    /// most its buffer limit (64 KiB) of unsent records per write.
    pub(super) fn seal(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        while !data.is_empty() {
            let took = self.conn.writer().write(data)?;
            data = &data[took..];
            self.move_records(out)?;
            if took == 0 && !data.is_empty() {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Moves every record rustls has queued into `out`.
    pub(super) fn move_records(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(out)?;
        }
        Ok(())
    }

    /// Sends whatever rustls has queued (handshake flights, tickets, alerts).
    pub(super) async fn flush(&mut self) -> io::Result<()> {
        let mut out = self.take_out()?;
        self.move_records(&mut out)?;
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
