//! `futures-io` `AsyncRead`/`AsyncWrite` for [`TlsStream`] (feature `futures-io`), for
//! libraries written against those traits (as the runtime's `net::Compat` does for a
//! plain `TcpStream`).
//!
//! Reads take plaintext straight from rustls into the caller's slice. Writes seal the
//! caller's bytes into records in the stream's output buffer and start its send, which
//! stays in flight across polls; a write reports its bytes as written once they are
//! sealed, and a failed send surfaces on the next write, flush or close. Close sends
//! `close_notify`, then shuts down the write side. A TCP EOF without the peer's
//! `close_notify` is an `UnexpectedEof` error, never a clean end.
//!
//! Use either these traits or the stream's async methods on one stream at a time: a
//! native send while a trait write's send is in flight fails with `BrokenPipe` (call
//! `poll_flush` first).

use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use coreline_runtime::{ops, AsSharedFd, SharedFd};
use futures_io::{AsyncRead, AsyncWrite};

use super::TlsStream;
use crate::session::SealProgress;
use crate::Side;

/// Plaintext sealed per write at most (the caller writes the rest with its next call).
const WRITE_MAX: usize = 64 * 1024;

/// A send in flight: the output buffer comes back with the result.
pub(super) type Sending = Pin<Box<dyn Future<Output = (io::Result<()>, Vec<u8>)>>>;

/// Sends all of `buf` on `fd`, repeating after partial sends; gives the buffer back empty.
async fn send_owned(fd: SharedFd, mut buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
    while !buf.is_empty() {
        let (res, back) = ops::send(&fd, buf).await;
        buf = back;
        match res {
            Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
            Ok(n) => drop(buf.drain(..n)),
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}

impl<K: Side> TlsStream<K> {
    /// Waits for the trait write's send in flight, if any, and puts the buffer back.
    fn poll_sent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(sending) = self.sending.as_mut() {
            let (result, out) = ready!(sending.as_mut().poll(cx));
            self.sending = None;
            self.give_back_out(out);
            result?;
        }
        Poll::Ready(Ok(()))
    }

    /// Starts sending `out` (records already in it), keeping the send in the stream.
    fn start_send(&mut self, out: Vec<u8>) {
        let fd = self.tcp.as_shared_fd().clone();
        self.sending = Some(Box::pin(send_owned(fd, out)));
    }

    /// Sends whatever rustls queued (alerts, a KeyUpdate answer) and waits for it.
    fn poll_flush_records(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_sent(cx))?;
            if !self.session.connection().wants_write() {
                return Poll::Ready(Ok(()));
            }
            let mut out = self.take_out()?;
            self.session.move_records(&mut out)?;
            self.start_send(out);
        }
    }
}

impl<K: Side + Unpin> AsyncRead for TlsStream<K> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            // `Some(0)` with room to read: the peer's close_notify came.
            if let Some(n) = this.session.read_into(buf)? {
                return Poll::Ready(Ok(n));
            }
            match ready!(this.tcp.poll_recv(cx))? {
                Some(chunk) => {
                    this.received_at_us = chunk.reaped_at_us();
                    this.session.push_chunk(chunk);
                }
                // The transport ended: the next read reports close_notify or a truncation.
                None => this.session.push_eof()?,
            }
        }
    }
}

impl<K: Side + Unpin> AsyncWrite for TlsStream<K> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_sent(cx))?;
        let data = &data[..data.len().min(WRITE_MAX)];
        let mut out = this.take_out()?;
        // At most WRITE_MAX, under one batch: one call seals it all.
        if let Err(e) = this
            .session
            .seal_parts(&[data], &mut SealProgress::default(), &mut out)
        {
            this.give_back_out(out);
            return Poll::Ready(Err(e));
        }
        this.start_send(out);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_records(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closing.is_none() {
            ready!(this.poll_sent(cx))?;
            this.session.send_close_notify();
            ready!(this.poll_flush_records(cx))?;
            let fd = this.tcp.as_shared_fd().clone();
            this.closing = Some(Box::pin(async move {
                ops::shutdown(&fd, Shutdown::Write).await
            }));
        }
        let closing = this.closing.as_mut().expect("set above");
        let result = ready!(closing.as_mut().poll(cx));
        this.closing = None;
        Poll::Ready(result)
    }
}
