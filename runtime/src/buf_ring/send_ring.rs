//! The memory of a send-buffer ring ([`SendRing`](crate::ops::SendRing)): a
//! provided-buffer ring registered for one connection's outgoing bytes, its entries and
//! its buffers. Buffer `k` always sits at ring position `k` (modulo the count), because a
//! connection queues and sends its buffers strictly in order.

use std::cell::Cell;
use std::io;

use io_uring::types::BufRingEntry;
use io_uring::IoUring;

use super::mapping::Mapping;

/// The entry array and the buffers of one send-buffer ring.
pub(crate) struct SendRingMemory {
    entries: Mapping,
    buffers: Mapping,
    count: u16,
    buf_size: u32,
    /// The last tail made visible to the kernel.
    published: Cell<u16>,
}

impl SendRingMemory {
    /// Maps `count` (a power of two) buffers of `buf_size` bytes and their entry array.
    pub(crate) fn new(count: u16, buf_size: u32) -> io::Result<Self> {
        if !count.is_power_of_two() || buf_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a send ring needs a power-of-two count of non-empty buffers, got {count} of {buf_size} bytes"),
            ));
        }
        Ok(SendRingMemory {
            entries: Mapping::new(usize::from(count) * std::mem::size_of::<BufRingEntry>())?,
            buffers: Mapping::new(usize::from(count) * buf_size as usize)?,
            count,
            buf_size,
            published: Cell::new(0),
        })
    }

    /// Registers the entry array with `ring` as buffer group `group`.
    pub(crate) fn register(&self, ring: &IoUring, group: u16) -> io::Result<()> {
        // SAFETY: the entry array is page-aligned and `count` entries long; it stays mapped
        // until the group is unregistered (`Driver::flush_send_ring_drops`) or the ring is
        // closed (the driver drops its ring before the memory it keeps for retired rings).
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                self.entries.ptr.as_ptr() as u64,
                self.count,
                group,
                0,
            )
        }
    }

    /// Buffers in the ring.
    pub(crate) fn count(&self) -> u16 {
        self.count
    }

    /// Bytes per buffer.
    pub(crate) fn buf_size(&self) -> u32 {
        self.buf_size
    }

    fn buffer_ptr(&self, position: u16) -> *mut u8 {
        let index = usize::from(position & (self.count - 1));
        // SAFETY: index < count, so the offset stays inside the buffers mapping.
        unsafe {
            self.buffers
                .ptr
                .as_ptr()
                .add(index * self.buf_size as usize)
        }
    }

    /// Copies `bytes` (at most `buf_size`) into the buffer at ring `position` and writes its
    /// entry, not yet visible to the kernel. The caller owns that position: the kernel has
    /// consumed it and no send reads it.
    pub(crate) fn fill(&self, position: u16, bytes: &[u8]) {
        assert!(
            bytes.len() <= self.buf_size as usize,
            "bytes exceed a send buffer"
        );
        let index = usize::from(position & (self.count - 1));
        let ptr = self.buffer_ptr(position);
        // SAFETY: the buffer is `buf_size` bytes inside our mapping and no send reads it
        // (the caller's contract); `bytes` is a separate allocation.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len()) };
        // SAFETY: index < count, inside the entry mapping; the kernel reads no entry at or
        // past the published tail, and this position is past it.
        let entry = unsafe { &mut *self.entries.ptr.as_ptr().cast::<BufRingEntry>().add(index) };
        entry.set_addr(ptr as u64);
        entry.set_len(bytes.len() as u32);
        entry.set_bid(index as u16);
    }

    /// The `len` bytes from `offset` of the buffer at ring `position`, for a plain send.
    pub(crate) fn bytes(&self, position: u16, offset: u32, len: u32) -> (*const u8, u32) {
        let offset = offset.min(self.buf_size);
        let len = len.min(self.buf_size - offset);
        // SAFETY: offset <= buf_size, inside this buffer.
        (
            unsafe { self.buffer_ptr(position).add(offset as usize) }.cast_const(),
            len,
        )
    }

    /// Makes every entry before `tail` visible to the kernel.
    pub(crate) fn publish(&self, tail: u16) {
        if self.published.get() == tail {
            return;
        }
        self.entries.store_ring_tail(tail);
        self.published.set(tail);
    }
}
