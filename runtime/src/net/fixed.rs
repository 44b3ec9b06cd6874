//! TCP on direct descriptors: [`FixedListener`] accepts into the core's registered file
//! table (multishot accept with `IORING_FILE_INDEX_ALLOC`) and [`FixedStream`] receives and
//! sends with `IOSQE_FIXED_FILE`, which spares the kernel a file-table lookup and a
//! reference count per operation.
//!
//! Needs a table: [`Builder::fixed_files`](crate::Builder::fixed_files). A stream
//! has no real fd, so it offers only receive and send (no socket options, peer address,
//! splice or TLS on a raw fd).

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

use io_uring::{opcode, types};

use super::conn::Tail;
use super::recv::{Chunk, MultiRecv};
use super::{ListenOptions, TcpListener};
use crate::buf::IoBuf;
use crate::buf_ring::RecvBuf;
use crate::context::with_driver;
use crate::driver::slot::OpKind;
use crate::fd::{FixedFd, SharedFd};
use crate::op::MultiOp;
use crate::ops;

/// A listening TCP socket (a real fd) whose accepted connections are direct descriptors.
pub struct FixedListener {
    fd: SharedFd,
    accept: MultiOp<SharedFd>,
    local_addr: SocketAddr,
}

impl FixedListener {
    /// Binds `addr` like [`TcpListener::bind_with`]. Fails with `Unsupported` when the
    /// core's ring has no direct-descriptor table (none asked for, or the kernel refused
    /// it): use a [`TcpListener`] then.
    pub fn bind_with(addr: SocketAddr, options: &ListenOptions) -> io::Result<Self> {
        if with_driver(|d| d.info().fixed_files) == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this core's ring has no table of direct descriptors",
            ));
        }
        let listener = TcpListener::bind_with(addr, options)?;
        let local_addr = listener.local_addr();
        Ok(FixedListener {
            fd: listener.into_shared_fd(),
            accept: MultiOp::idle(OpKind::YieldsFixed),
            local_addr,
        })
    }

    /// The bound address (with the real port if 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits for the next connection. `ENFILE` means the table is full.
    pub async fn accept(&mut self) -> io::Result<FixedStream> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<FixedStream>> {
        loop {
            if !self.accept.is_armed() {
                let sqe = opcode::AcceptMulti::new(types::Fd(self.fd.raw()))
                    .allocate_file_index(true)
                    .flags(libc::SOCK_NONBLOCK)
                    .build();
                self.accept.arm(sqe, self.fd.clone());
            }
            let c = match ready!(self.accept.poll_next(cx)) {
                None => continue, // ended (e.g. after a full table): re-arm
                Some(q) => q.completion,
            };
            return Poll::Ready(if c.result >= 0 {
                Ok(FixedStream::new(FixedFd::new(c.result as u32)))
            } else {
                Err(io::Error::from_raw_os_error(-c.result))
            });
        }
    }
}

/// A TCP connection held as a direct descriptor of the current core's ring.
pub struct FixedStream {
    fd: FixedFd,
    recv: MultiRecv<FixedFd>,
}

impl FixedStream {
    fn new(fd: FixedFd) -> Self {
        FixedStream {
            fd,
            recv: MultiRecv::idle(),
        }
    }

    /// The direct descriptor.
    pub fn fixed_fd(&self) -> &FixedFd {
        &self.fd
    }

    /// Receives the next chunk from the core's buffer ring; `Ok(None)` is the peer's EOF.
    /// Dropping the future loses no data.
    pub async fn recv(&mut self) -> io::Result<Option<RecvBuf>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<RecvBuf>>> {
        let fd = &self.fd;
        let chunk = ready!(self.recv.poll(cx, |group| {
            let sqe = opcode::RecvMulti::new(types::Fixed(fd.index()), group).build();
            (sqe, fd.clone())
        }))?;
        Poll::Ready(Ok(match chunk {
            Chunk::Data(buf) => Some(buf),
            Chunk::Eof => None,
        }))
    }

    /// Sends all of `buf`, continuing after partial sends.
    pub async fn send_all<B: IoBuf>(&self, buf: B) -> (io::Result<()>, B) {
        let total = buf.bytes_init();
        let mut rest = Tail { buf, from: 0 };
        loop {
            let (r, back) = ops::send_fixed(&self.fd, rest).await;
            rest = back;
            match r {
                Err(e) => return (Err(e), rest.buf),
                Ok(0) if total > 0 => return (Err(io::ErrorKind::WriteZero.into()), rest.buf),
                Ok(n) => rest.from += n,
            }
            if rest.from >= total {
                return (Ok(()), rest.buf);
            }
        }
    }
}
