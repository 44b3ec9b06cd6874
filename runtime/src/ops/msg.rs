//! Datagram operations with an address: `sendmsg`/`recvmsg` through the ring with one
//! owned buffer (`send_to`, `recv_from`).

use std::io;
use std::net::SocketAddr;

use io_uring::{opcode, squeue, types};

use super::convert::{cqe_result, finish_read, spare_capacity, sqe_len};
use crate::buf::{IoBuf, IoBufMut};
use crate::driver::slot::{Completion, OpKind};
use crate::fd::SharedFd;
use crate::op::{Op, OpData};
use crate::sys::RawAddr;

/// The kernel-facing parts of one message: address, one iovec and the header pointing at
/// both. Boxed, so the pointers in the header survive moves of the op.
struct Msg {
    addr: Box<RawAddr>,
    iov: Box<libc::iovec>,
    hdr: Box<libc::msghdr>,
}

impl Msg {
    fn new(addr: RawAddr) -> Self {
        Msg {
            addr: Box::new(addr),
            iov: Box::new(libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }),
            // SAFETY: msghdr is plain old data; all-zero is an empty header.
            hdr: Box::new(unsafe { std::mem::zeroed() }),
        }
    }

    /// Points the header at the address and at `len` bytes from `ptr`.
    fn wire(&mut self, ptr: *mut u8, len: u32) -> *mut libc::msghdr {
        self.iov.iov_base = ptr.cast();
        self.iov.iov_len = len as usize;
        self.hdr.msg_name = (&mut self.addr.storage as *mut libc::sockaddr_storage).cast();
        self.hdr.msg_namelen = self.addr.len;
        self.hdr.msg_iov = &mut *self.iov;
        self.hdr.msg_iovlen = 1;
        &mut *self.hdr
    }
}

struct SendTo<B> {
    fd: SharedFd,
    buf: B,
    msg: Msg,
}

impl<B: IoBuf> OpData for SendTo<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let len = sqe_len(self.buf.bytes_init());
        // The kernel only reads through this pointer (sendmsg).
        let hdr = self.msg.wire(self.buf.stable_ptr().cast_mut(), len);
        opcode::SendMsg::new(types::Fd(self.fd.raw()), hdr)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        (cqe_result(c).map(|n| n as usize), self.buf)
    }
}

/// Sends `buf` as one datagram to `addr` (`sendmsg`).
pub async fn send_to<B: IoBuf>(fd: &SharedFd, buf: B, addr: SocketAddr) -> (io::Result<usize>, B) {
    Op::new(SendTo {
        fd: fd.clone(),
        buf,
        msg: Msg::new(RawAddr::from_std(&addr)),
    })
    .await
}

struct RecvFrom<B> {
    fd: SharedFd,
    buf: B,
    msg: Msg,
}

impl<B: IoBufMut> OpData for RecvFrom<B> {
    type Output = (io::Result<(usize, SocketAddr)>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let (ptr, len) = spare_capacity(&mut self.buf);
        let hdr = self.msg.wire(ptr, len);
        opcode::RecvMsg::new(types::Fd(self.fd.raw()), hdr).build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        let (n, buf) = finish_read(c, self.buf);
        let from = RawAddr {
            storage: self.msg.addr.storage,
            len: self.msg.hdr.msg_namelen,
        };
        (n.and_then(|n| Ok((n, from.to_std()?))), buf)
    }
}

/// Receives one datagram into the spare capacity of `buf` (`recvmsg`), with its sender's
/// address. A datagram longer than the spare capacity is truncated.
pub async fn recv_from<B: IoBufMut>(fd: &SharedFd, buf: B) -> (io::Result<(usize, SocketAddr)>, B) {
    Op::new(RecvFrom {
        fd: fd.clone(),
        buf,
        msg: Msg::new(RawAddr::empty()),
    })
    .await
}
