//! Operations on direct descriptors ([`FixedFd`]): `IOSQE_FIXED_FILE` sends.

use std::io;

use io_uring::{opcode, squeue, types};

use super::convert::{cqe_result, sqe_len};
use crate::buf::IoBuf;
use crate::driver::slot::{Completion, OpKind};
use crate::fd::FixedFd;
use crate::op::{Op, OpData};

struct SendFixed<B> {
    fd: FixedFd,
    buf: B,
}

impl<B: IoBuf> OpData for SendFixed<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let len = sqe_len(self.buf.bytes_init());
        opcode::Send::new(types::Fixed(self.fd.index()), self.buf.stable_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        (cqe_result(c).map(|n| n as usize), self.buf)
    }
}

/// Sends `buf` on a direct descriptor (one `send`, which may be partial); returns bytes
/// sent and the buffer.
pub async fn send_fixed<B: IoBuf>(fd: &FixedFd, buf: B) -> (io::Result<usize>, B) {
    Op::new(SendFixed {
        fd: fd.clone(),
        buf,
    })
    .await
}
