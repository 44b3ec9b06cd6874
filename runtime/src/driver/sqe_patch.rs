//! Fields of an SQE that the `io-uring` crate's builders do not set for some opcodes:
//! the receive/send flags in `ioprio` on a plain `Recv`/`Send` and the registered-buffer
//! index of a plain `Send`. The crate's `Entry` is `#[repr(C)]` around the kernel's
//! 64-byte `io_uring_sqe`, so the fields sit at the kernel ABI's offsets.

use io_uring::squeue;

/// Offset of `ioprio` (u16) in `struct io_uring_sqe`.
const IOPRIO_OFFSET: usize = 2;
/// Offset of `buf_index` / `buf_group` (u16) in `struct io_uring_sqe`.
const BUF_INDEX_OFFSET: usize = 40;

/// `IORING_RECVSEND_FIXED_BUF`: the send reads from the registered buffer `buf_index`.
pub(crate) const RECVSEND_FIXED_BUF: u16 = 1 << 2;
/// `IORING_RECVSEND_BUNDLE`: a buffer-selecting receive may fill several buffers at once.
pub(crate) const RECVSEND_BUNDLE: u16 = 1 << 4;

const _: () = assert!(std::mem::size_of::<squeue::Entry>() == 64);

/// The SQE's 64 bytes.
fn bytes(entry: &mut squeue::Entry) -> &mut [u8; 64] {
    // SAFETY: `squeue::Entry` is `#[repr(C)]` with the 64-byte `io_uring_sqe` as its only
    // field (size checked above); every bit pattern is a valid `[u8; 64]` and the borrow
    // keeps the entry exclusively ours.
    unsafe { &mut *(entry as *mut squeue::Entry).cast::<[u8; 64]>() }
}

/// The SQE's opcode.
pub(crate) fn opcode(entry: &mut squeue::Entry) -> u8 {
    bytes(entry)[0]
}

/// Sets `bits` in the SQE's `ioprio` (where receives and sends keep their `IORING_RECVSEND_*`
/// flags).
pub(crate) fn or_ioprio(entry: &mut squeue::Entry, bits: u16) {
    let b = bytes(entry);
    let old = u16::from_ne_bytes([b[IOPRIO_OFFSET], b[IOPRIO_OFFSET + 1]]);
    b[IOPRIO_OFFSET..IOPRIO_OFFSET + 2].copy_from_slice(&(old | bits).to_ne_bytes());
}

/// Sets the SQE's `buf_index` (the registered buffer a `IORING_RECVSEND_FIXED_BUF` send
/// reads from).
pub(crate) fn set_buf_index(entry: &mut squeue::Entry, index: u16) {
    bytes(entry)[BUF_INDEX_OFFSET..BUF_INDEX_OFFSET + 2].copy_from_slice(&index.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use io_uring::{opcode, types};

    use super::*;

    #[test]
    fn patches_land_where_the_crate_puts_them() {
        // SendZc sets both fields itself: patching a plain entry must give the same bytes.
        let mut zc = opcode::SendZc::new(types::Fd(3), std::ptr::null(), 0)
            .buf_index(Some(7))
            .build();
        let mut plain = opcode::SendZc::new(types::Fd(3), std::ptr::null(), 0).build();
        or_ioprio(&mut plain, RECVSEND_FIXED_BUF);
        set_buf_index(&mut plain, 7);
        assert_eq!(bytes(&mut zc), bytes(&mut plain));
        assert_eq!(opcode(&mut plain), opcode::SendZc::CODE);
    }
}
