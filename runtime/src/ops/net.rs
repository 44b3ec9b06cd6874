//! Socket operations: connect, recv into an owned buffer, send, vectored send, SEND_ZC,
//! shutdown. (Multishot accept and recv live with the listener and stream types.)

use std::io;
use std::net::SocketAddr;

use io_uring::{opcode, squeue, types};

use super::convert::{cqe_result, finish_read, spare_capacity, sqe_len};
use crate::buf::{IoBuf, IoBufMut};
use crate::driver::slot::{Completion, OpKind};
use crate::fd::SharedFd;
use crate::op::{Op, OpData};
use crate::sys::RawAddr;

struct Connect {
    fd: SharedFd,
    addr: Box<RawAddr>,
}

impl OpData for Connect {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        opcode::Connect::new(types::Fd(self.fd.raw()), self.addr.as_ptr(), self.addr.len).build()
    }
    fn complete(self, c: Completion) -> io::Result<()> {
        cqe_result(c).map(drop)
    }
}

/// Connects socket `fd` to `addr`.
pub async fn connect(fd: &SharedFd, addr: SocketAddr) -> io::Result<()> {
    connect_raw(fd, RawAddr::from_std(&addr)).await
}

/// Connects socket `fd` to an address in the kernel's layout (any family).
pub(crate) async fn connect_raw(fd: &SharedFd, addr: RawAddr) -> io::Result<()> {
    Op::new(Connect {
        fd: fd.clone(),
        addr: Box::new(addr),
    })
    .await
}

struct Recv<B> {
    fd: SharedFd,
    buf: B,
}

impl<B: IoBufMut> OpData for Recv<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let (ptr, len) = spare_capacity(&mut self.buf);
        opcode::Recv::new(types::Fd(self.fd.raw()), ptr, len).build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        finish_read(c, self.buf)
    }
}

/// Receives into the spare capacity of `buf` (after its initialized bytes). `Ok(0)` is EOF.
pub async fn recv<B: IoBufMut>(fd: &SharedFd, buf: B) -> (io::Result<usize>, B) {
    Op::new(Recv {
        fd: fd.clone(),
        buf,
    })
    .await
}

struct Send<B> {
    fd: SharedFd,
    buf: B,
    zero_copy: bool,
    /// `MSG_MORE`: more data follows, do not push a partial segment yet.
    more: bool,
}

impl<B: IoBuf> OpData for Send<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let (fd, ptr, len) = (
            types::Fd(self.fd.raw()),
            self.buf.stable_ptr(),
            sqe_len(self.buf.bytes_init()),
        );
        let flags = libc::MSG_NOSIGNAL | if self.more { libc::MSG_MORE } else { 0 };
        if self.zero_copy {
            opcode::SendZc::new(fd, ptr, len).flags(flags).build()
        } else {
            opcode::Send::new(fd, ptr, len).flags(flags).build()
        }
    }
    fn complete(self, c: Completion) -> Self::Output {
        (cqe_result(c).map(|n| n as usize), self.buf)
    }
}

/// Sends `buf` (one `send`, which may be partial); returns bytes sent and the buffer.
pub async fn send<B: IoBuf>(fd: &SharedFd, buf: B) -> (io::Result<usize>, B) {
    Op::new(Send {
        fd: fd.clone(),
        buf,
        zero_copy: false,
        more: false,
    })
    .await
}

/// A [`send`] that can be submitted before it is awaited: see [`send_op`].
#[must_use = "a send does nothing unless started or awaited"]
pub struct SendOp<B: IoBuf>(Op<Send<B>>);

impl<B: IoBuf> SendOp<B> {
    /// Submits the send now (with the core's next `io_uring_enter`) without registering a
    /// waker, so that its completion wakes no task: whoever awaits the op later finds it
    /// done. Dropping it before then cancels it, as with any operation.
    pub fn start(&mut self) {
        self.0.start();
    }
}

impl<B: IoBuf> std::future::Future for SendOp<B> {
    type Output = (io::Result<usize>, B);

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// Like [`send`], as a named future that can be [started](SendOp::start) first and
/// awaited later: a sender that does not need the result at once (a response whose
/// socket has room, as it nearly always does) is not woken for it.
pub fn send_op<B: IoBuf>(fd: &SharedFd, buf: B) -> SendOp<B> {
    SendOp(Op::new(Send {
        fd: fd.clone(),
        buf,
        zero_copy: false,
        more: false,
    }))
}

/// Like [`send`], with `MSG_MORE`: the kernel holds a partial segment back because more
/// data follows (e.g. a response head before a spliced body), as `TCP_CORK` would for
/// one call. The next send or splice without it pushes everything out.
pub async fn send_more<B: IoBuf>(fd: &SharedFd, buf: B) -> (io::Result<usize>, B) {
    Op::new(Send {
        fd: fd.clone(),
        buf,
        zero_copy: false,
        more: true,
    })
    .await
}

/// Sends `buf` with `IORING_OP_SEND_ZC`: the kernel transmits straight from the buffer.
/// Resolves only after the kernel's notification that it no longer needs the buffer, so
/// the returned buffer is safe to reuse. Worth it only for large sends (tens of KiB).
pub async fn send_zc<B: IoBuf>(fd: &SharedFd, buf: B) -> (io::Result<usize>, B) {
    Op::new(Send {
        fd: fd.clone(),
        buf,
        zero_copy: true,
        more: false,
    })
    .await
}

struct SendVectored<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    /// Heap-allocated so their addresses survive moves of this struct.
    iovecs: Box<[libc::iovec]>,
    msg: Box<libc::msghdr>,
}

impl<B: IoBuf> OpData for SendVectored<B> {
    type Output = (io::Result<usize>, Vec<B>);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        self.msg.msg_iov = self.iovecs.as_mut_ptr();
        self.msg.msg_iovlen = self.iovecs.len();
        opcode::SendMsg::new(types::Fd(self.fd.raw()), &*self.msg)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        (cqe_result(c).map(|n| n as usize), self.bufs)
    }
}

/// Sends several buffers (e.g. a response head and body) with one `sendmsg` SQE.
/// Returns the bytes sent (possibly fewer than all) and the buffers.
pub async fn send_vectored<B: IoBuf>(fd: &SharedFd, bufs: Vec<B>) -> (io::Result<usize>, Vec<B>) {
    let iovecs: Box<[libc::iovec]> = bufs
        .iter()
        .map(|b| libc::iovec {
            iov_base: b.stable_ptr() as *mut libc::c_void,
            iov_len: b.bytes_init(),
        })
        .collect();
    // SAFETY: msghdr is plain old data; all-zero means no name, no control data.
    let msg: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
    Op::new(SendVectored {
        fd: fd.clone(),
        bufs,
        iovecs,
        msg,
    })
    .await
}

struct Shutdown {
    fd: SharedFd,
    how: libc::c_int,
}

impl OpData for Shutdown {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        opcode::Shutdown::new(types::Fd(self.fd.raw()), self.how).build()
    }
    fn complete(self, c: Completion) -> io::Result<()> {
        cqe_result(c).map(drop)
    }
}

/// Shuts down the read side, the write side or both (`std::net::Shutdown`).
pub async fn shutdown(fd: &SharedFd, how: std::net::Shutdown) -> io::Result<()> {
    let how = match how {
        std::net::Shutdown::Read => libc::SHUT_RD,
        std::net::Shutdown::Write => libc::SHUT_WR,
        std::net::Shutdown::Both => libc::SHUT_RDWR,
    };
    Op::new(Shutdown {
        fd: fd.clone(),
        how,
    })
    .await
}
