//! `futures-io` `AsyncRead`/`AsyncWrite` over a [`TcpStream`] (feature `futures-io`), for
//! libraries written against those traits.
//!
//! The ring wants owned buffers; the traits lend a slice per poll. So the adapter costs
//! one copy each way: reads copy out of the provided buffer the multishot receive filled
//! (keeping the rest for the next poll), and writes copy the caller's bytes into an
//! internal buffer whose send stays in flight across polls. A write reports its bytes as
//! written once they are in that buffer; a failed send surfaces on the next write, flush
//! or close. The native owned-buffer methods avoid both copies.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::conn::send_all;
use super::TcpStream;
use crate::buf_ring::RecvBuf;
use crate::fd::AsSharedFd;

type Sending = Pin<Box<dyn Future<Output = (io::Result<()>, Vec<u8>)>>>;

/// A [`TcpStream`] with `futures-io` traits; see the module docs for the cost.
pub struct Compat {
    stream: TcpStream,
    /// Received bytes not yet read, from `unread_from` on.
    unread: Option<RecvBuf>,
    unread_from: usize,
    /// The send in flight, if any.
    sending: Option<Sending>,
    /// The write buffer, back from the last finished send (reused).
    spare: Vec<u8>,
}

impl Compat {
    /// Wraps `stream`.
    pub fn new(stream: TcpStream) -> Compat {
        Compat {
            stream,
            unread: None,
            unread_from: 0,
            sending: None,
            spare: Vec::new(),
        }
    }

    /// The stream (e.g. for its addresses).
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// Waits for the send in flight to finish.
    fn poll_sent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(sending) = self.sending.as_mut() {
            let (result, mut buf) = ready!(sending.as_mut().poll(cx));
            self.sending = None;
            buf.clear();
            self.spare = buf;
            result?;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Compat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.unread.is_none() {
            match ready!(this.stream.poll_recv(cx))? {
                None => return Poll::Ready(Ok(0)),
                Some(buf) => (this.unread, this.unread_from) = (Some(buf), 0),
            }
        }
        let buf = this.unread.as_ref().expect("filled above");
        let rest = &buf[this.unread_from..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        this.unread_from += n;
        if this.unread_from == buf.len() {
            this.unread = None; // the provided buffer goes back to the ring
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Compat {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_sent(cx))?;
        let mut buf = std::mem::take(&mut this.spare);
        buf.extend_from_slice(data);
        let fd = this.stream.as_shared_fd().clone();
        this.sending = Some(Box::pin(async move { send_all(&fd, buf).await }));
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_sent(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_sent(cx))?;
        // A direct shutdown(2) of the write side: it never waits.
        let raw = this.stream.as_shared_fd().raw();
        crate::sys::shutdown_write(raw)?;
        Poll::Ready(Ok(()))
    }
}
