//! The send half of [`TlsStream`]: the session seals plaintext into records and moves
//! them into an output `Vec`, and that `Vec` goes to the kernel by value (one `send_all`
//! per batch) and comes back; its storage then goes back to the thread's spare buffers
//! (`spare.rs`), so a stream between sends holds none.

use std::io;
use std::net::Shutdown;

use super::{spare, TlsStream};
use crate::session::SealProgress;
use crate::Side;

impl<K: Side> TlsStream<K> {
    /// Encrypts and sends all of `data`.
    pub async fn send_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.send_vectored(&[data]).await
    }

    /// Encrypts every part, in order, and sends the records with one socket send (several
    /// for payloads over 256 KiB). Parts totalling at most 4 KiB share one TLS record.
    /// The output buffer's storage is reused from send to send (through the thread's spare
    /// buffers): no allocation here in steady state (rustls itself allocates one buffer per
    /// record it seals).
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

    /// Sends the last batch of `out` and gives the buffer back.
    async fn finish_send(&mut self, out: Vec<u8>) -> io::Result<()> {
        let out = if out.is_empty() {
            out
        } else {
            self.transmit(out).await?
        };
        self.give_back_out(out);
        Ok(())
    }

    /// Ends a send: the stream may send again, and `out`'s storage goes back to the
    /// thread's spare buffers (an idle connection holds no output buffer).
    pub(super) fn give_back_out(&mut self, out: Vec<u8>) {
        spare::give_back(out);
        self.out = Some(Vec::new());
    }

    /// One `send_all` of the buffer; gives it back emptied.
    async fn transmit(&self, out: Vec<u8>) -> io::Result<Vec<u8>> {
        let (res, mut out) = self.tcp.send_all(out).await;
        res?;
        out.clear();
        Ok(out)
    }

    /// Starts a send: an empty output buffer (storage from the thread's spare buffers),
    /// or `BrokenPipe` if an earlier send was lost mid-record.
    pub(super) fn take_out(&mut self) -> io::Result<Vec<u8>> {
        match self.out.take() {
            Some(_) => Ok(spare::take()),
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "an earlier TLS send was cancelled or failed mid-record; the stream is unusable",
            )),
        }
    }
}
