//! What every stream socket (TCP, Unix) shares: the fd, the multishot receive from the
//! core's provided-buffer ring, and sends from owned buffers. The public stream types
//! hold a `Conn` and get its I/O methods from [`stream_io!`].

use std::io;
use std::os::fd::OwnedFd;
use std::task::{ready, Context, Poll};

use super::recv::{Chunk, MultiRecv};
use crate::buf::{IoBuf, IoBufMut};
use crate::buf_ring::RecvBuf;
use crate::fd::SharedFd;
use crate::{ops, rx_stamp};

/// A connected stream socket and its receive state.
pub(super) struct Conn {
    pub(super) fd: SharedFd,
    recv: MultiRecv<SharedFd>,
    /// Whether receives bring kernel timestamps (see `rx_stamp`); decided when first armed.
    pub(super) stamped: Option<bool>,
}

impl Conn {
    pub(super) fn new(fd: OwnedFd) -> Self {
        Conn {
            fd: SharedFd::new(fd),
            recv: MultiRecv::idle(),
            stamped: None,
        }
    }

    /// Ends the multishot receive and gives back the socket's fd.
    pub(super) fn into_shared_fd(self) -> SharedFd {
        let fd = self.fd.clone();
        drop(self); // cancels the receive; an abandoned op keeps its own clone of `fd`
        fd
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<RecvBuf>>> {
        let (fd, stamped) = (&self.fd, &mut self.stamped);
        let chunk = ready!(self.recv.poll(cx, |group| {
            (rx_stamp::recv_sqe(fd.raw(), group, stamped), fd.clone())
        }))?;
        Poll::Ready(Ok(match chunk {
            Chunk::Eof => None,
            Chunk::Data(buf) => self.payload(buf),
        }))
    }

    /// Ends the multishot receive (see `MultiRecv::poll_stop`): `Some` for each chunk of
    /// data it had received, `None` once it has ended.
    pub(super) fn poll_stop_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<RecvBuf>>> {
        loop {
            return Poll::Ready(Ok(match ready!(self.recv.poll_stop(cx))? {
                None => None,
                Some(Chunk::Data(buf)) => match self.payload(buf) {
                    Some(data) => Some(data),
                    None => continue, // a timestamp-only chunk
                },
                Some(Chunk::Eof) => None,
            }));
        }
    }

    /// The data of a received buffer (without its timestamp, if receives carry one).
    fn payload(&self, buf: RecvBuf) -> Option<RecvBuf> {
        if self.stamped == Some(true) {
            rx_stamp::payload(buf)
        } else {
            Some(buf)
        }
    }

    pub(super) async fn send_all<B: IoBuf>(&self, buf: B) -> (io::Result<()>, B) {
        send_all(&self.fd, buf).await
    }

    pub(super) async fn read<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        ops::recv(&self.fd, buf).await
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

        /// Ends the multishot receive behind [`recv`](Self::recv), so the socket can be
        /// read another way (a `splice` from it) with no receive taking bytes meanwhile:
        /// `Ready(Ok(Some(buf)))` for data received before the receive ended (poll
        /// again), `Ready(Ok(None))` once it has ended. A later `recv` starts a new one.
        pub fn poll_stop_recv(
            &mut self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<Option<$crate::RecvBuf>>> {
            self.conn.poll_stop_recv(cx)
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
pub(super) struct Tail<B> {
    pub(super) buf: B,
    pub(super) from: usize,
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
