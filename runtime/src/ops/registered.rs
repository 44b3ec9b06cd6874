//! Sends from buffers registered with the core's ring (`IORING_REGISTER_BUFFERS`): the
//! send names the buffer by index (`IORING_RECVSEND_FIXED_BUF`), so the kernel does not
//! look up and pin the user pages per send. Meant for canned bytes (fixed responses)
//! that a core sends again and again.
//!
//! A buffer stays registered for as long as its core runs (a table of
//! [`REGISTERED_SLOTS`] per core). The send is a plain `IORING_OP_SEND` where the kernel
//! takes a registered buffer for it (after 6.18), else `IORING_OP_SEND_ZC`, which has
//! taken one since 6.0 ([`RegisteredSendOp`]); where the kernel has no table, the same
//! bytes go out with an ordinary send.

use std::io;
use std::ops::Range;
use std::rc::Rc;

use io_uring::{opcode, squeue, types};

use super::convert::{cqe_result, sqe_len};
use crate::context::with_driver;
use crate::driver::slot::{Completion, OpKind};
use crate::driver::{sqe_patch, RegisteredSendOp};
use crate::fd::{FixedFd, SharedFd};
use crate::op::{Op, OpData};

/// Buffers each core can register for sends.
pub const REGISTERED_SLOTS: u32 = 64;

/// Bytes registered with the current core's ring for sends (see the module docs).
/// Cheap to clone; belongs to the core that registered it (not `Send`).
#[derive(Debug, Clone)]
pub struct RegisteredBuf {
    bytes: Rc<[u8]>,
    /// The slot in the core's buffer table; `None` when registration was refused.
    index: Option<u16>,
}

impl RegisteredBuf {
    /// Registers `bytes` (not empty) with the current core's ring. When the kernel refuses
    /// (no table, table full, memory lock limit) the buffer still works, sent with plain
    /// sends: [`is_registered`](Self::is_registered) says which.
    ///
    /// # Panics
    /// Outside a coreline runtime thread.
    pub fn new(bytes: Vec<u8>) -> io::Result<Self> {
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty buffer cannot be registered",
            ));
        }
        let bytes: Rc<[u8]> = bytes.into();
        let index = match with_driver(|d| d.register_send_buffer(bytes.clone())) {
            Ok(index) => Some(index),
            Err(e) => {
                log::warn!("coreline: buffer not registered ({e}); sent with plain sends");
                None
            }
        };
        Ok(RegisteredBuf { bytes, index })
    }

    /// Whether the kernel took the buffer (sends then name it by index).
    pub fn is_registered(&self) -> bool {
        self.index.is_some()
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Where a send goes: a real fd or a direct descriptor.
pub(super) enum Target {
    Fd(SharedFd),
    Fixed(FixedFd),
}

struct SendRegistered {
    target: Target,
    buf: RegisteredBuf,
    range: Range<usize>,
    /// The operation this send uses.
    op: RegisteredSendOp,
}

impl OpData for SendRegistered {
    /// The op comes back for the next partial send.
    type Output = (io::Result<usize>, Self);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let bytes = &self.buf.bytes[self.range.clone()];
        let (ptr, len) = (bytes.as_ptr(), sqe_len(bytes.len()));
        let index = self
            .buf
            .index
            .filter(|_| self.op != RegisteredSendOp::Plain);
        if let (RegisteredSendOp::SendZc, Some(index)) = (self.op, index) {
            return match &self.target {
                Target::Fd(fd) => opcode::SendZc::new(types::Fd(fd.raw()), ptr, len),
                Target::Fixed(fd) => opcode::SendZc::new(types::Fixed(fd.index()), ptr, len),
            }
            .buf_index(Some(index))
            .flags(libc::MSG_NOSIGNAL)
            .build();
        }
        let mut sqe = match &self.target {
            Target::Fd(fd) => opcode::Send::new(types::Fd(fd.raw()), ptr, len),
            Target::Fixed(fd) => opcode::Send::new(types::Fixed(fd.index()), ptr, len),
        }
        .flags(libc::MSG_NOSIGNAL)
        .build();
        if let Some(index) = index {
            sqe_patch::or_ioprio(&mut sqe, sqe_patch::RECVSEND_FIXED_BUF);
            sqe_patch::set_buf_index(&mut sqe, index);
        }
        sqe
    }
    fn complete(self, c: Completion) -> Self::Output {
        (cqe_result(c).map(|n| n as usize), self)
    }
}

/// Sends `buf[range]` on `fd`, all of it (continuing after partial sends).
///
/// # Panics
/// If `range` is outside the buffer.
pub async fn send_registered(
    fd: &SharedFd,
    buf: &RegisteredBuf,
    range: Range<usize>,
) -> io::Result<()> {
    send_all(Target::Fd(fd.clone()), buf, range).await
}

/// [`send_registered`] on a direct descriptor.
///
/// # Panics
/// If `range` is outside the buffer.
pub async fn send_registered_fixed(
    fd: &FixedFd,
    buf: &RegisteredBuf,
    range: Range<usize>,
) -> io::Result<()> {
    send_all(Target::Fixed(fd.clone()), buf, range).await
}

async fn send_all(target: Target, buf: &RegisteredBuf, mut range: Range<usize>) -> io::Result<()> {
    assert!(
        range.end <= buf.bytes.len(),
        "range outside the registered buffer"
    );
    let mut op = SendRegistered {
        target,
        buf: buf.clone(),
        range: range.clone(),
        op: RegisteredSendOp::Plain,
    };
    while !range.is_empty() {
        op.range = range.clone();
        op.op = if buf.is_registered() {
            with_driver(|d| d.info().registered_send)
        } else {
            RegisteredSendOp::Plain
        };
        let tried = op.op;
        let (result, back) = Op::new(op).await;
        op = back;
        match result {
            // The kernel does not take a registered buffer this way: the next way.
            Err(e)
                if tried != RegisteredSendOp::Plain && e.raw_os_error() == Some(libc::EINVAL) =>
            {
                with_driver(|d| d.step_down_registered_send(tried));
            }
            Err(e) => return Err(e),
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => range.start += n,
        }
    }
    Ok(())
}
