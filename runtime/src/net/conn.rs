//! What every stream socket (TCP, Unix) shares: the fd, the multishot receive from the
//! core's provided-buffer ring, and sends from owned buffers. The public stream types
//! hold a `Conn` and get its I/O methods from [`stream_io!`].

use std::io;
use std::os::fd::OwnedFd;
use std::task::{Context, Poll};

use io_uring::cqueue;

use crate::buf::{IoBuf, IoBufMut};
use crate::buf_ring::RecvBuf;
use crate::context::with_driver;
use crate::driver::slot::OpKind;
use crate::fd::SharedFd;
use crate::op::MultiOp;
use crate::{ops, rx_stamp};

/// A connected stream socket and its receive state.
pub(super) struct Conn {
    pub(super) fd: SharedFd,
    recv: MultiOp<SharedFd>,
    /// Whether receives bring kernel timestamps (see `rx_stamp`); decided when first armed.
    pub(super) stamped: Option<bool>,
    /// Registered with the buffer ring to be woken when a buffer is back.
    waiting_for_buffer: bool,
}

impl Conn {
    pub(super) fn new(fd: OwnedFd) -> Self {
        Conn {
            fd: SharedFd::new(fd),
            recv: MultiOp::idle(OpKind::SelectsBuffer),
            stamped: None,
            waiting_for_buffer: false,
        }
    }

    /// Ends the multishot receive and gives back the socket's fd.
    pub(super) fn into_shared_fd(self) -> SharedFd {
        let fd = self.fd.clone();
        drop(self); // cancels the receive; an abandoned op keeps its own clone of `fd`
        fd
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<RecvBuf>>> {
        loop {
            if !self.recv.is_armed() {
                let ring = with_driver(|d| d.buf_ring.clone());
                if !ring.has_free() {
                    ring.wait_for_buffer(cx.waker());
                    self.waiting_for_buffer = true;
                    return Poll::Pending;
                }
                if std::mem::take(&mut self.waiting_for_buffer) {
                    ring.pass_on();
                }
                let sqe = rx_stamp::recv_sqe(self.fd.raw(), ring.group(), &mut self.stamped);
                self.recv.arm(sqe, self.fd.clone());
            }
            let (c, moved) = match self.recv.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => continue, // ended (EOF seen, ENOBUFS...): re-arm
                Poll::Ready(Some(q)) => (q.completion, q.moved),
            };
            if c.result < 0 {
                if c.result == -libc::ENOBUFS || c.result == -libc::ECANCELED {
                    // The ring ran dry, or the driver cancelled this receive because its
                    // chunks went unread (RECV_QUEUE_LIMIT, driver/evict.rs): re-arm now
                    // that the owner reads again.
                    continue;
                }
                return Poll::Ready(Err(io::Error::from_raw_os_error(-c.result)));
            }
            let buf = if let Some(bytes) = moved {
                RecvBuf::moved(bytes, c.reaped_us)
            } else if let Some(bid) = cqueue::buffer_select(c.flags) {
                let ring = with_driver(|d| d.buf_ring.clone());
                RecvBuf::new(ring, bid, c.result as usize, c.reaped_us)
            } else {
                return Poll::Ready(Ok(None));
            };
            return Poll::Ready(Ok(if self.stamped == Some(true) {
                rx_stamp::payload(buf)
            } else {
                Some(buf)
            }));
        }
    }

    pub(super) async fn send_all<B: IoBuf>(&self, buf: B) -> (io::Result<()>, B) {
        send_all(&self.fd, buf).await
    }

    pub(super) async fn read<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        ops::recv(&self.fd, buf).await
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // A receiver gone while waiting for a buffer passes its turn on (see `pass_on`).
        if self.waiting_for_buffer {
            let _ = crate::context::try_with_core(|c| {
                if let Ok(d) = c.driver.try_borrow() {
                    d.buf_ring.pass_on();
                }
            });
        }
    }
}

/// Sends all of `buf` on `fd`, continuing after partial sends.
pub(super) async fn send_all<B: IoBuf>(fd: &SharedFd, buf: B) -> (io::Result<()>, B) {
    let total = buf.bytes_init();
    let (mut r, mut buf) = ops::send(fd, buf).await;
    let mut sent = 0;
    loop {
        match r {
            Err(e) => return (Err(e), buf),
            Ok(0) if total > 0 => return (Err(io::ErrorKind::WriteZero.into()), buf),
            Ok(n) => sent += n,
        }
        if sent >= total {
            return (Ok(()), buf);
        }
        let rest = Tail { buf, from: sent };
        let (r2, rest) = ops::send(fd, rest).await;
        (r, buf) = (r2, rest.buf);
    }
}

/// The I/O methods of a stream type with a `conn: Conn` field.
macro_rules! stream_io {
    () => {
        /// Receives the next chunk of data into a buffer from the core's ring. `Ok(None)`
        /// means the peer closed its side (EOF). Dropping the future loses no data: chunks
        /// that arrive meanwhile queue for the next call.
        pub async fn recv(&mut self) -> std::io::Result<Option<$crate::RecvBuf>> {
            std::future::poll_fn(|cx| self.conn.poll_recv(cx)).await
        }

        /// Poll form of [`recv`](Self::recv).
        pub fn poll_recv(
            &mut self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<Option<$crate::RecvBuf>>> {
            self.conn.poll_recv(cx)
        }

        /// Receives into the spare capacity of an owned buffer with a single-shot recv (no
        /// provided buffer). `Ok(0)` is EOF. Do not mix with [`recv`](Self::recv) on one
        /// stream.
        pub async fn read<B: $crate::buf::IoBufMut>(&self, buf: B) -> (std::io::Result<usize>, B) {
            self.conn.read(buf).await
        }

        /// One `send` of `buf`; may send fewer bytes than it holds.
        pub async fn send<B: $crate::buf::IoBuf>(&self, buf: B) -> (std::io::Result<usize>, B) {
            $crate::ops::send(&self.conn.fd, buf).await
        }

        /// Sends all of `buf`, continuing after partial sends.
        pub async fn send_all<B: $crate::buf::IoBuf>(&self, buf: B) -> (std::io::Result<()>, B) {
            self.conn.send_all(buf).await
        }

        /// Sends several buffers (e.g. head and body) in one `sendmsg` SQE. May be partial.
        pub async fn send_vectored<B: $crate::buf::IoBuf>(
            &self,
            bufs: Vec<B>,
        ) -> (std::io::Result<usize>, Vec<B>) {
            $crate::ops::send_vectored(&self.conn.fd, bufs).await
        }

        /// Sends with `IORING_OP_SEND_ZC`; resolves after the kernel's buffer notification.
        pub async fn send_zc<B: $crate::buf::IoBuf>(&self, buf: B) -> (std::io::Result<usize>, B) {
            $crate::ops::send_zc(&self.conn.fd, buf).await
        }

        /// Shuts down one or both directions.
        pub async fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
            $crate::ops::shutdown(&self.conn.fd, how).await
        }
    };
}
pub(super) use stream_io;

/// The unsent tail of a buffer, for continuing a partial send.
struct Tail<B> {
    buf: B,
    from: usize,
}

// SAFETY: points inside `buf`, whose storage is stable by B's own IoBuf contract.
unsafe impl<B: IoBuf> IoBuf for Tail<B> {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: from <= bytes_init, so this stays inside the buffer.
        unsafe { self.buf.stable_ptr().add(self.from) }
    }
    fn bytes_init(&self) -> usize {
        self.buf.bytes_init() - self.from
    }
}
