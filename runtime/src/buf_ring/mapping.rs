//! The anonymous memory the buffer ring's entries and buffers live in.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;

/// An anonymous private mapping, unmapped on drop.
pub(crate) struct Mapping {
    pub(crate) ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        // SAFETY: an anonymous private mapping with no address hint has no preconditions.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Mapping { ptr, len })
    }

    /// Stores `tail` as the tail of the buffer ring whose entries this mapping holds, making
    /// the entries before it visible to the kernel. Only on a ring's entries mapping.
    pub(crate) fn store_ring_tail(&self, tail: u16) {
        let base = self.ptr.as_ptr().cast::<BufRingEntry>().cast_const();
        // SAFETY: the mapping holds at least the ring's first entry, inside which the tail
        // lives; the kernel reads it with acquire semantics, so it is stored atomically
        // with release.
        let shared = unsafe { &*BufRingEntry::tail(base).cast::<AtomicU16>() };
        shared.store(tail, Ordering::Release);
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from our own successful mmap and are unmapped exactly once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
