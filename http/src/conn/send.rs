//! Sending: [`ConnIo::send_all`], the one path every byte of a response leaves by (the
//! output buffer's flush, large and static bodies, file chunks), for both transports;
//! and the write timeout around it.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use coreline_runtime::buf::IoBuf;
use coreline_runtime::{ops, SharedFd};

use super::io::ConnIo;

/// A buffer that a send can continue after a partial send.
pub(crate) trait SendBuf: IoBuf + Unpin + AsRef<[u8]> {
    /// Drops the first `n` bytes, which were sent.
    fn advance(&mut self, n: usize);
}

impl SendBuf for Vec<u8> {
    fn advance(&mut self, n: usize) {
        // Partial sends (socket buffer full) are rare, so moving the tail is fine.
        self.drain(..n);
    }
}

impl SendBuf for &'static [u8] {
    fn advance(&mut self, n: usize) {
        *self = &self[n.min(self.len())..];
    }
}

impl ConnIo {
    /// Sends everything in the output buffer (one `send` unless the socket is full), and
    /// records the batch's responses as served once it is empty.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        loop {
            let buf = std::mem::take(&mut *self.out.borrow_mut());
            if buf.is_empty() {
                *self.out.borrow_mut() = buf;
                self.stamp_flushed();
                return Ok(());
            }
            let mut back = self.send_all(buf, ops::send).await?;
            back.clear();
            *self.out.borrow_mut() = back;
        }
    }

    /// Sends all of `buf`, each send bounded by the write timeout, and gives the buffer
    /// back (its contents unspecified: clear it to reuse it). On a plain socket each send
    /// is `op` (`ops::send`, `ops::send_more` or `ops::send_zc`), repeated after a partial
    /// send; over TLS the stream seals and sends the bytes (`op` does not apply). On
    /// failure the buffer may be gone (a timed-out send's buffer stays with the
    /// cancelled operation).
    pub(crate) async fn send_all<'a, B, F, Fut>(&'a self, mut buf: B, op: F) -> io::Result<B>
    where
        B: SendBuf,
        F: Fn(&'a SharedFd, B) -> Fut,
        Fut: Future<Output = (io::Result<usize>, B)>,
    {
        if self.is_tls() {
            // Boxed: keeps the TLS send out of every connection task's size.
            Box::pin(self.tls_send(buf.as_ref())).await?;
            return Ok(buf);
        }
        while !buf.as_ref().is_empty() {
            let (res, back) = self.timed(op(&self.fd, buf)).await?;
            buf = back;
            match res? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n if n >= buf.as_ref().len() => break,
                n => buf.advance(n),
            }
        }
        Ok(buf)
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

    /// Runs a send-side operation bounded by the write timeout.
    pub(crate) async fn timed<F: Future>(&self, op: F) -> io::Result<F::Output> {
        self.set_deadline(self.registry.config.timeouts.write);
        let mut op = pin!(op);
        poll_fn(|cx| self.poll_timed(op.as_mut(), cx)).await
    }

    /// Polls an operation, failing it once the connection's deadline passed.
    fn poll_timed<F: Future>(
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
