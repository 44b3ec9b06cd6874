//! `TcpStream`: receives through a multishot recv on the core's provided-buffer ring (no
//! buffer held while idle), sends from owned buffers.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use io_uring::cqueue;

use crate::buf::{IoBuf, IoBufMut};
use crate::buf_ring::RecvBuf;
use crate::context::with_driver;
use crate::driver::slot::OpKind;
use crate::fd::{AsSharedFd, SharedFd};
use crate::op::MultiOp;
use crate::{ops, rx_stamp, sys};

/// A TCP connection on the current core.
pub struct TcpStream {
    fd: SharedFd,
    recv: MultiOp<SharedFd>,
    /// Whether receives bring kernel timestamps (see `rx_stamp`); decided when first armed.
    stamped: Option<bool>,
}

impl TcpStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        TcpStream {
            fd: SharedFd::new(fd),
            recv: MultiOp::idle(OpKind::SelectsBuffer),
            stamped: None,
        }
    }

    /// An accepted socket; `stamped`: receive timestamps are on for it already (inherited
    /// from the listener).
    pub(crate) fn accepted(fd: OwnedFd, stamped: bool) -> Self {
        let mut stream = Self::from_fd(fd);
        stream.stamped = stamped.then_some(true);
        stream
    }

    /// Ends the multishot receive and gives back the socket's fd (see `adopt`).
    pub(super) fn into_shared_fd(self) -> SharedFd {
        let TcpStream { fd, recv, .. } = self;
        drop(recv); // cancels it; an abandoned op keeps its own clone of `fd`
        fd
    }

    /// Connects to `addr` (with `TCP_NODELAY` on).
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_fd(sys::tcp_socket(&addr)?);
        stream.set_nodelay(true)?;
        ops::connect(&stream.fd, addr).await?;
        Ok(stream)
    }

    /// Connects to `addr` with `TCP_FASTOPEN_CONNECT` (and `TCP_NODELAY`). With a Fast Open
    /// cookie from an earlier connection to `addr` cached, the connect completes at once
    /// without a packet sent, and the first send carries its data in the SYN; without one,
    /// the SYN asks the server for a cookie (a normal handshake). Needs the client bit (1)
    /// of `net.ipv4.tcp_fastopen`, which is the default; `TcpExtTCPFastOpenActive` counts
    /// the SYNs that carried data.
    pub async fn connect_fastopen(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_fd(sys::tcp_socket(&addr)?);
        stream.set_nodelay(true)?;
        sys::set_int_opt(
            stream.fd.raw(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN_CONNECT,
            1,
        )?;
        ops::connect(&stream.fd, addr).await?;
        Ok(stream)
    }

    /// Receives the next chunk of data into a buffer from the core's ring. `Ok(None)` means
    /// the peer closed its side (EOF). Dropping the future loses no data: chunks that
    /// arrive meanwhile queue for the next call.
    pub async fn recv(&mut self) -> io::Result<Option<RecvBuf>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<RecvBuf>>> {
        loop {
            if !self.recv.is_armed() {
                let ring = with_driver(|d| d.buf_ring.clone());
                if !ring.has_free() {
                    ring.wait_for_buffer(cx.waker());
                    return Poll::Pending;
                }
                let sqe = rx_stamp::recv_sqe(self.fd.raw(), ring.group(), &mut self.stamped);
                self.recv.arm(sqe, self.fd.clone());
            }
            let c = match self.recv.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => continue, // ended (EOF seen, ENOBUFS...): re-arm
                Poll::Ready(Some(c)) => c,
            };
            if c.result < 0 {
                if c.result == -libc::ENOBUFS || c.result == -libc::ECANCELED {
                    // The ring ran dry, or the driver throttled this receive because its
                    // unread chunks piled up (see RECV_QUEUE_LIMIT): re-arm once drained.
                    continue;
                }
                return Poll::Ready(Err(io::Error::from_raw_os_error(-c.result)));
            }
            let Some(bid) = cqueue::buffer_select(c.flags) else {
                return Poll::Ready(Ok(None));
            };
            let ring = with_driver(|d| d.buf_ring.clone());
            let buf = RecvBuf::new(ring, bid, c.result as usize, c.reaped_us);
            return Poll::Ready(Ok(if self.stamped == Some(true) {
                rx_stamp::payload(buf)
            } else {
                Some(buf)
            }));
        }
    }

    /// Receives into the spare capacity of an owned buffer with a single-shot recv (no
    /// provided buffer). `Ok(0)` is EOF. Do not mix with [`recv`](Self::recv) on one stream.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        ops::recv(&self.fd, buf).await
    }

    /// One `send` of `buf`; may send fewer bytes than it holds.
    pub async fn send<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        ops::send(&self.fd, buf).await
    }

    /// Sends all of `buf`, continuing after partial sends.
    pub async fn send_all<B: IoBuf>(&self, buf: B) -> (io::Result<()>, B) {
        let total = buf.bytes_init();
        let (mut r, mut buf) = ops::send(&self.fd, buf).await;
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
            let (r2, rest) = ops::send(&self.fd, rest).await;
            (r, buf) = (r2, rest.buf);
        }
    }

    /// Sends several buffers (e.g. head and body) in one `sendmsg` SQE. May be partial.
    pub async fn send_vectored<B: IoBuf>(&self, bufs: Vec<B>) -> (io::Result<usize>, Vec<B>) {
        ops::send_vectored(&self.fd, bufs).await
    }

    /// Sends with `IORING_OP_SEND_ZC`; resolves after the kernel's buffer notification.
    pub async fn send_zc<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        ops::send_zc(&self.fd, buf).await
    }

    /// Shuts down one or both directions.
    pub async fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        ops::shutdown(&self.fd, how).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::socket_addr(self.fd.raw(), false)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::socket_addr(self.fd.raw(), true)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        sys::set_int_opt(
            self.fd.raw(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            i32::from(on),
        )
    }

    /// Reads `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::get_int_opt(self.fd.raw(), libc::IPPROTO_TCP, libc::TCP_NODELAY).map(|v| v != 0)
    }
}

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

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsSharedFd for TcpStream {
    fn as_shared_fd(&self) -> &SharedFd {
        &self.fd
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.fd.raw())
            .finish()
    }
}
