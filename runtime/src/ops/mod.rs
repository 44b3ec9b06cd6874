//! The io_uring operations, each a future that owns its buffers; and, in [`direct`],
//! the few system calls made without the ring (plain functions, never futures).
//!
//! Higher-level types ([`TcpStream`](crate::net::TcpStream), [`File`](crate::fs::File)) wrap
//! most of them; the ones here are also usable directly on any [`SharedFd`].

pub mod direct;
mod misc;
mod net;
mod open;
mod rw;
mod stat;

pub use misc::{splice, timeout_op, writable};
pub use net::{connect, recv, send, send_more, send_vectored, send_zc, shutdown};
pub use open::{close, open_at, open_at2};
pub use rw::{read_at, write_at};
pub use stat::{statx, statx_fd, Statx};

use std::io;

use crate::buf::IoBufMut;
use crate::driver::slot::Completion;
#[allow(unused_imports)] // named in docs
use crate::fd::SharedFd;

/// Converts a CQE result to `io::Result`: negative values are `-errno`.
pub(crate) fn cqe_result(c: Completion) -> io::Result<u32> {
    if c.result < 0 {
        Err(io::Error::from_raw_os_error(-c.result))
    } else {
        Ok(c.result as u32)
    }
}

/// Clamps a buffer length to what one SQE can carry.
pub(crate) fn sqe_len(len: usize) -> u32 {
    len.min(u32::MAX as usize) as u32
}

/// Where a read into `buf` goes: its spare capacity, after the initialized bytes.
pub(crate) fn spare_capacity<B: IoBufMut>(buf: &mut B) -> (*mut u8, u32) {
    let init = buf.bytes_init();
    let spare = buf.bytes_total() - init;
    // SAFETY: init <= bytes_total, so the pointer stays inside the buffer.
    let ptr = unsafe { buf.stable_mut_ptr().add(init) };
    (ptr, sqe_len(spare))
}

/// Finishes a read into the spare capacity of `buf`: marks the new bytes initialized.
pub(crate) fn finish_read<B: IoBufMut>(c: Completion, mut buf: B) -> (io::Result<usize>, B) {
    let result = cqe_result(c).map(|n| n as usize);
    if let Ok(n) = result {
        let init = buf.bytes_init();
        // SAFETY: the kernel wrote n bytes right after the initialized ones.
        unsafe { buf.set_init(init + n) };
    }
    (result, buf)
}
