//! The send half of [`TlsSession`]: plaintext sealed into records, and every record rustls
//! queues (handshake flights, tickets, alerts, `close_notify`) moved into the caller's
//! output buffer, in batches the caller sends between calls.

use std::io::{self, Write};
use std::ops::Deref;

use super::TlsSession;
use crate::Side;

/// Vectored sends up to this many bytes are copied into one buffer first so that head and
/// body (or a batch of pipelined responses) leave in a single TLS record: one AEAD seal,
/// one header and tag. Above it the copy would cost more than the extra record saves.
const COALESCE_MAX: usize = 4 * 1024;
/// Larger payloads are sealed in batches of about this many bytes, bounding the output
/// buffer instead of holding a whole file's ciphertext.
const BATCH: usize = 256 * 1024;

/// How far [`TlsSession::seal_parts`] has got through a vectored send: start each send
/// with [`SealProgress::default`] and pass the same one until it reports completion.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SealProgress {
    /// The part sealed next.
    part: usize,
    /// How much of that part is sealed.
    at: usize,
}

impl<C: Deref<Target = [u8]>, K: Side> TlsSession<C, K> {
    /// Seals `parts`, in order, appending the records to `out`. Parts totalling at most
    /// 4 KiB share one TLS record. Larger sends stop once `out` holds a batch (about
    /// 256 KiB; pieces are cut at 256 KiB from each part's start): `Ok(false)` means send
    /// `out`, empty it and call again with the same `parts` and `progress`; `Ok(true)`
    /// means everything is sealed (what `out` holds is the last batch, maybe empty).
    pub fn seal_parts(
        &mut self,
        parts: &[&[u8]],
        progress: &mut SealProgress,
        out: &mut Vec<u8>,
    ) -> io::Result<bool> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if *progress == SealProgress::default() && parts.len() > 1 && total <= COALESCE_MAX {
            let mut staging = std::mem::take(&mut self.staging);
            staging.clear();
            for part in parts {
                staging.extend_from_slice(part);
            }
            let sealed = self.seal(&staging, out);
            self.staging = staging;
            progress.part = parts.len();
            return sealed.map(|()| true);
        }
        while let Some(part) = parts.get(progress.part) {
            let end = part.len().min(progress.at + BATCH);
            if progress.at < end {
                self.seal(&part[progress.at..end], out)?;
            }
            if end == part.len() {
                progress.part += 1;
                progress.at = 0;
            } else {
                progress.at = end;
            }
            if out.len() >= BATCH {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Queues `close_notify`; [`move_records`](Self::move_records) then yields it.
    pub fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
    }

    /// Moves every record rustls has queued into `out`: handshake flights, session
    /// tickets, a KeyUpdate answer, an alert after an error, `close_notify`.
    pub fn move_records(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(out)?;
        }
        Ok(())
    }

    /// Encrypts `data` and appends the records to `out`, looping because rustls accepts at
    /// most its buffer limit (64 KiB) of unsent records per write.
    fn seal(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
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
}
