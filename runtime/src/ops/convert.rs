//! What every ring operation shares: an owned buffer as SQE pointer and length, and a
//! CQE as a result.

use std::io;

use crate::buf::IoBufMut;
use crate::driver::slot::Completion;

/// Converts a CQE result to `io::Result`: negative values are `-errno`.
pub(super) fn cqe_result(c: Completion) -> io::Result<u32> {
    if c.result < 0 {
        Err(io::Error::from_raw_os_error(-c.result))
    } else {
        Ok(c.result as u32)
    }
}

/// Clamps a buffer length to what one SQE can carry.
pub(super) fn sqe_len(len: usize) -> u32 {
    len.min(u32::MAX as usize) as u32
}

/// Where a read into `buf` goes: its spare capacity, after the initialized bytes.
pub(super) fn spare_capacity<B: IoBufMut>(buf: &mut B) -> (*mut u8, u32) {
    let init = buf.bytes_init();
    let spare = buf.bytes_total() - init;
    // SAFETY: init <= bytes_total, so the pointer stays inside the buffer.
    let ptr = unsafe { buf.stable_mut_ptr().add(init) };
    (ptr, sqe_len(spare))
}

/// Finishes a read into the spare capacity of `buf`: marks the new bytes initialized.
pub(super) fn finish_read<B: IoBufMut>(c: Completion, mut buf: B) -> (io::Result<usize>, B) {
    let result = cqe_result(c).map(|n| n as usize);
    if let Ok(n) = result {
        let init = buf.bytes_init();
        // SAFETY: the kernel wrote n bytes right after the initialized ones.
        unsafe { buf.set_init(init + n) };
    }
    (result, buf)
}
