//! Kernel timeouts, splice, and waiting for a socket to become readable or writable.

use std::io;
use std::time::Duration;

use io_uring::{opcode, squeue, types};

use super::convert::cqe_result;
use crate::driver::slot::{Completion, OpKind};
use crate::fd::{AsSharedFd, SharedFd};
use crate::op::{Op, OpData};

struct TimeoutOp {
    ts: Box<types::Timespec>,
}

impl OpData for TimeoutOp {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        opcode::Timeout::new(&*self.ts).build()
    }
    fn complete(self, c: Completion) -> io::Result<()> {
        match cqe_result(c) {
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            other => other.map(drop),
        }
    }
}

/// A kernel-side timeout (`IORING_OP_TIMEOUT`). Most code wants [`crate::time::sleep`],
/// which costs no SQE; this one exists for linking and testing the cancel path.
pub async fn timeout_op(duration: Duration) -> io::Result<()> {
    Op::new(TimeoutOp {
        ts: Box::new(types::Timespec::from(duration)),
    })
    .await
}

struct Splice {
    fd_in: SharedFd,
    off_in: i64,
    fd_out: SharedFd,
    off_out: i64,
    len: u32,
}

impl OpData for Splice {
    type Output = io::Result<usize>;
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        opcode::Splice::new(
            types::Fd(self.fd_in.raw()),
            self.off_in,
            types::Fd(self.fd_out.raw()),
            self.off_out,
            self.len,
        )
        .flags(libc::SPLICE_F_MOVE)
        .build()
    }
    fn complete(self, c: Completion) -> io::Result<usize> {
        cqe_result(c).map(|n| n as usize)
    }
}

/// Moves up to `len` bytes from `fd_in` to `fd_out` inside the kernel; one side must be a
/// pipe. Offsets: `Some(pos)` for a file position, `None` for pipes and sockets.
/// Returns the bytes moved (0: end of input).
pub async fn splice(
    fd_in: &impl AsSharedFd,
    off_in: Option<u64>,
    fd_out: &impl AsSharedFd,
    off_out: Option<u64>,
    len: u32,
) -> io::Result<usize> {
    Op::new(Splice {
        fd_in: fd_in.as_shared_fd().clone(),
        off_in: offset(off_in),
        fd_out: fd_out.as_shared_fd().clone(),
        off_out: offset(off_out),
        len,
    })
    .await
}

pub(super) fn offset(o: Option<u64>) -> i64 {
    o.map_or(-1, |v| v as i64)
}

/// A one-shot poll of `fd` for the events in `mask`.
struct PollFor {
    fd: SharedFd,
    mask: u32,
}

impl OpData for PollFor {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(self.fd.raw()), self.mask).build()
    }
    fn complete(self, c: Completion) -> io::Result<()> {
        cqe_result(c).map(drop)
    }
}

/// Waits until `fd` is writable (or in error: the next write reports it), e.g. after a
/// direct system call on a non-blocking socket said `WouldBlock`.
pub async fn writable(fd: &SharedFd) -> io::Result<()> {
    Op::new(PollFor {
        fd: fd.clone(),
        mask: libc::POLLOUT as u32,
    })
    .await
}

/// Waits until `fd` has data to read, its peer closed, or it is in error (the next read
/// reports which), e.g. after a direct `splice` from a non-blocking socket said
/// `WouldBlock`.
pub async fn readable(fd: &SharedFd) -> io::Result<()> {
    Op::new(PollFor {
        fd: fd.clone(),
        mask: libc::POLLIN as u32,
    })
    .await
}
