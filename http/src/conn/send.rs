//! Sending: [`ConnIo::send_all`], the one path every byte of a response leaves by (the
//! output buffer's flush, large and static bodies, file chunks), for both transports;
//! and the write timeout and minimum send rate around it.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use coreline_runtime::buf::IoBuf;
use coreline_runtime::{ops, SharedFd};

use super::io::ConnIo;
use super::rate::RateClock;
use crate::clock;

/// A buffer that a send can continue after a partial send.
pub(crate) trait SendBuf: IoBuf + Unpin + AsRef<[u8]> + Default {
    /// Drops the first `n` bytes (at most all of them), which were sent.
    fn advance(&mut self, n: usize);
}

impl SendBuf for Vec<u8> {
    fn advance(&mut self, n: usize) {
        // All sent: keep the storage. Partial sends (socket buffer full) are rare, so
        // moving the tail is fine.
        self.drain(..n.min(self.len()));
    }
}

/// Large in-memory bodies: a partial send costs no copy of the rest (with
/// `TCP_NOTSENT_LOWAT`, a body larger than the mark leaves in several sends).
impl SendBuf for Bytes {
    fn advance(&mut self, n: usize) {
        Buf::advance(self, n.min(self.len()));
    }
}

impl SendBuf for &'static [u8] {
    fn advance(&mut self, n: usize) {
        *self = &self[n.min(self.len())..];
    }
}

impl ConnIo {
    /// Sends everything in the output buffer (one `send` unless the socket is full), and
    /// records the batch's responses as served.
    ///
    /// This future and [`send_all`](Self::send_all)'s are written as async blocks in plain
    /// functions, and no local holds a buffer beside the send that owns it: they live in
    /// every connection's task, and an async fn would store each argument twice.
    #[allow(clippy::manual_async_fn)] // see above
    pub(crate) fn flush(&self) -> impl Future<Output = io::Result<()>> + '_ {
        async move {
            self.send_all(&self.out, ops::send).await?;
            self.stamp_flushed();
            Ok(())
        }
    }

    /// Sends everything in the buffer in `slot` and leaves it there, empty (a `Vec` keeps
    /// its storage), each send bounded by the write timeout. On a plain socket each send is
    /// `op` (`ops::send`, `ops::send_more` or `ops::send_zc`), repeated after a partial
    /// send; over TLS the stream seals and sends the bytes (`op` does not apply). The
    /// buffer is out of the slot while a send owns it; on failure it may be gone (a
    /// timed-out send's buffer stays with the cancelled operation).
    #[allow(clippy::manual_async_fn)] // see `flush`
    pub(crate) fn send_all<'a, B, F, Fut>(
        &'a self,
        slot: &'a RefCell<B>,
        op: F,
    ) -> impl Future<Output = io::Result<()>> + 'a
    where
        B: SendBuf,
        F: Fn(&'a SharedFd, B) -> Fut + 'a,
        Fut: Future<Output = (io::Result<usize>, B)> + 'a,
    {
        async move {
            if self.is_tls() {
                let mut buf = std::mem::take(&mut *slot.borrow_mut());
                // Boxed: keeps the TLS send out of every connection task's size.
                let result = Box::pin(self.tls_send(buf.as_ref())).await;
                buf.advance(usize::MAX);
                *slot.borrow_mut() = buf;
                return result;
            }
            while !slot.borrow().as_ref().is_empty() {
                self.begin_send_wait(0);
                let (res, mut back) = {
                    let mut send = pin!({
                        let buf = std::mem::take(&mut *slot.borrow_mut());
                        op(&self.fd, buf)
                    });
                    poll_fn(|cx| self.poll_timed(send.as_mut(), cx)).await?
                };
                match res? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    n => {
                        self.sent(n);
                        back.advance(n)
                    }
                }
                *slot.borrow_mut() = back;
            }
            Ok(())
        }
    }

    /// Whether file bodies can be spliced to the socket (not through TLS: kTLS is not used).
    pub(crate) fn can_splice(&self) -> bool {
        !self.is_tls()
    }

    /// The socket, for send-side operations built elsewhere and run through
    /// [`timed`](Self::timed) (the file-body paths in `splice`).
    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    /// Runs a send-side operation bounded by the write timeout and the minimum send rate
    /// (bytes it sends are counted by the caller, through [`sent`](Self::sent)).
    pub(crate) async fn timed<F: Future>(&self, op: F) -> io::Result<F::Output> {
        self.timed_moving(op, 0).await
    }

    /// Runs an operation that sends `bytes` all at once (a TLS piece), bounded by the
    /// write timeout and by when those bytes are due at the minimum send rate; counts
    /// them as sent when it completes.
    pub(crate) async fn timed_moving<F: Future>(
        &self,
        op: F,
        bytes: usize,
    ) -> io::Result<F::Output> {
        self.begin_send_wait(bytes as u64);
        let mut op = pin!(op);
        let out = poll_fn(|cx| self.poll_timed(op.as_mut(), cx)).await;
        self.sent(if out.is_ok() { bytes } else { 0 });
        out
    }

    /// Sets the deadline of a wait for room to send: the write timeout, or sooner if the
    /// response falls below the minimum send rate by then (counting `ahead` bytes that
    /// the wait will send at once).
    pub(super) fn begin_send_wait(&self, ahead: u64) {
        let t = &self.registry.config.timeouts;
        let now = clock::now_ms();
        let timeout = now.saturating_add(t.write.as_millis() as u64);
        let mut rate = self.send_rate.get();
        let by_rate = rate.begin_wait(now, t.min_send_rate, t.min_rate_grace, ahead);
        self.send_rate.set(rate);
        self.set_deadline_at(timeout.min(by_rate));
    }

    /// `n` bytes of the response went to the socket (a wait for room, if any, ended).
    pub(crate) fn sent(&self, n: usize) {
        let mut rate = self.send_rate.get();
        rate.moved(clock::now_ms(), n as u64);
        self.send_rate.set(rate);
    }

    /// A new response begins: the minimum send rate counts afresh, with its grace.
    pub(crate) fn reset_send_rate(&self) {
        self.send_rate.set(RateClock::default());
    }

    /// Polls an operation, failing it once the connection's deadline passed.
    pub(super) fn poll_timed<F: Future>(
        &self,
        op: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<F::Output>> {
        if let Poll::Ready(out) = op.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if self.timed_out() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "send timed out",
            )));
        }
        self.set_waker(cx.waker());
        Poll::Pending
    }

    /// Half-closes the sending side (FIN after everything already queued; over TLS,
    /// `close_notify` first).
    pub(crate) async fn shutdown_write(&self) -> io::Result<()> {
        if self.is_tls() {
            return Box::pin(self.tls_shutdown()).await;
        }
        ops::shutdown(&self.fd, std::net::Shutdown::Write).await
    }
}
