//! Positional reads and writes through the ring.

use std::io;

use io_uring::{opcode, squeue, types};

use super::convert::{cqe_result, finish_read, spare_capacity, sqe_len};
use crate::buf::{IoBuf, IoBufMut};
use crate::driver::slot::{Completion, OpKind};
use crate::fd::SharedFd;
use crate::op::{Op, OpData};

struct ReadAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBufMut> OpData for ReadAt<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let (ptr, len) = spare_capacity(&mut self.buf);
        opcode::Read::new(types::Fd(self.fd.raw()), ptr, len)
            .offset(self.offset)
            .build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        finish_read(c, self.buf)
    }
}

/// Reads at `offset` into the spare capacity of `buf`. `u64::MAX` as offset means "at
/// the current file position" (for pipes and sockets).
pub async fn read_at<B: IoBufMut>(fd: &SharedFd, buf: B, offset: u64) -> (io::Result<usize>, B) {
    Op::new(ReadAt {
        fd: fd.clone(),
        buf,
        offset,
    })
    .await
}

struct WriteAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBuf> OpData for WriteAt<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let (ptr, len) = (self.buf.stable_ptr(), sqe_len(self.buf.bytes_init()));
        opcode::Write::new(types::Fd(self.fd.raw()), ptr, len)
            .offset(self.offset)
            .build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        (cqe_result(c).map(|n| n as usize), self.buf)
    }
}

/// Writes `buf` at `offset` (`u64::MAX`: at the current position).
pub async fn write_at<B: IoBuf>(fd: &SharedFd, buf: B, offset: u64) -> (io::Result<usize>, B) {
    Op::new(WriteAt {
        fd: fd.clone(),
        buf,
        offset,
    })
    .await
}
