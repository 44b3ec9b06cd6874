//! The per-core provided-buffer ring (`IORING_REGISTER_PBUF_RING`).
//!
//! Multishot receives pick a buffer from this ring only when data arrives, so an idle
//! connection holds none. A [`RecvBuf`] owns one buffer until it is dropped, which puts it
//! back at the ring's tail. When the ring runs dry the kernel ends the multishot receive
//! with `ENOBUFS`; the receiver then waits here until a buffer comes back and re-arms.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::ops::Deref;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::Waker;

use io_uring::types::BufRingEntry;
use io_uring::IoUring;

/// Counts of the provided-buffer ring on the current core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufRingStats {
    /// Buffers in the ring.
    pub total: usize,
    /// Buffers currently handed out to the application (received data not yet dropped).
    pub in_use: usize,
    /// Size of each buffer in bytes.
    pub buf_size: usize,
}

/// An anonymous private mapping, unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> io::Result<Self> {
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
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from our own successful mmap and are unmapped exactly once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A registered provided-buffer ring and the buffers it hands out.
pub(crate) struct BufRing {
    entries: Mapping,
    buffers: Mapping,
    count: u16,
    buf_size: u32,
    group: u16,
    tail: Cell<u16>,
    in_use: Cell<usize>,
    /// Receivers waiting for a buffer after the ring ran dry, in arrival order.
    waiters: RefCell<VecDeque<Waker>>,
}

impl BufRing {
    /// Maps `count` buffers of `buf_size` bytes and registers them as buffer group `group`.
    pub(crate) fn register(
        ring: &IoUring,
        count: u16,
        buf_size: u32,
        group: u16,
    ) -> io::Result<Rc<Self>> {
        if !count.is_power_of_two() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("provided-buffer count must be a power of two, got {count}"),
            ));
        }
        let entries = Mapping::new(usize::from(count) * std::mem::size_of::<BufRingEntry>())?;
        let buffers = Mapping::new(usize::from(count) * buf_size as usize)?;
        let this = BufRing {
            entries,
            buffers,
            count,
            buf_size,
            group,
            tail: Cell::new(0),
            in_use: Cell::new(0),
            waiters: RefCell::new(VecDeque::new()),
        };
        // SAFETY: the entry array is page-aligned, `count` entries long, and stays mapped
        // until after the ring is unregistered (Driver drops the ring before this BufRing,
        // and RecvBufs keep it alive with their Rc).
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                this.entries.ptr.as_ptr() as u64,
                count,
                group,
                0,
            )?;
        }
        for bid in 0..count {
            this.push(bid);
        }
        this.publish();
        Ok(Rc::new(this))
    }

    /// The buffer group id receives select from.
    pub(crate) fn group(&self) -> u16 {
        self.group
    }

    fn buffer_ptr(&self, bid: u16) -> *mut u8 {
        debug_assert!(bid < self.count);
        // SAFETY: bid < count, so the offset stays inside the buffers mapping.
        unsafe {
            self.buffers
                .ptr
                .as_ptr()
                .add(usize::from(bid) * self.buf_size as usize)
        }
    }

    /// Writes buffer `bid` into the next free entry (not yet visible to the kernel).
    fn push(&self, bid: u16) {
        let tail = self.tail.get();
        let index = usize::from(tail & (self.count - 1));
        // SAFETY: index < count, inside the entry mapping; the kernel never reads entries
        // at or past the published tail, so writing this one races with nothing.
        let entry = unsafe { &mut *self.entries.ptr.as_ptr().cast::<BufRingEntry>().add(index) };
        entry.set_addr(self.buffer_ptr(bid) as u64);
        entry.set_len(self.buf_size);
        entry.set_bid(bid);
        self.tail.set(tail.wrapping_add(1));
    }

    /// Makes every pushed entry visible to the kernel.
    fn publish(&self) {
        let base = self
            .entries
            .ptr
            .as_ptr()
            .cast::<BufRingEntry>()
            .cast_const();
        // SAFETY: the tail lives inside the first entry of our live mapping; the kernel reads
        // it with acquire semantics, so we store it atomically with release.
        let tail = unsafe { &*BufRingEntry::tail(base).cast::<AtomicU16>() };
        tail.store(self.tail.get(), Ordering::Release);
    }

    /// Records that a CQE handed buffer ownership to us.
    pub(crate) fn note_taken(&self) {
        self.in_use.set(self.in_use.get() + 1);
    }

    /// Returns buffer `bid` to the ring and wakes one receiver waiting for a buffer: one
    /// buffer serves one receiver, and waking them all would have every one re-arm to
    /// race for it.
    pub(crate) fn recycle(&self, bid: u16) {
        self.push(bid);
        self.publish();
        self.in_use.set(self.in_use.get().saturating_sub(1));
        self.wake_one();
    }

    /// Copies the first `len` bytes of buffer `bid` (handed to us by a CQE) to the heap
    /// and recycles the buffer.
    pub(crate) fn copy_out(&self, bid: u16, len: usize) -> Box<[u8]> {
        let len = len.min(self.buf_size as usize);
        // SAFETY: a CQE handed buffer `bid` to us with `len` bytes written (clamped to the
        // buffer's size above), and it is not republished until the recycle below.
        let bytes = unsafe { std::slice::from_raw_parts(self.buffer_ptr(bid), len) };
        let copy = Box::<[u8]>::from(bytes);
        self.recycle(bid);
        copy
    }

    /// Wakes the longest-waiting receiver, if any.
    fn wake_one(&self) {
        let waker = self.waiters.borrow_mut().pop_front();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Called by a receiver that waited and now finds a buffer free: if more than the one
    /// it is about to use are free, the next waiter gets its turn too (a woken receiver
    /// whose socket has no data after all, or whose task is gone, takes no buffer, so the
    /// wake-up must not stop with it).
    pub(crate) fn pass_on(&self) {
        if self.free() > 1 {
            self.wake_one();
        }
    }

    /// Whether at least one buffer is available to the kernel.
    pub(crate) fn has_free(&self) -> bool {
        self.free() > 0
    }

    fn free(&self) -> usize {
        usize::from(self.count).saturating_sub(self.in_use.get())
    }

    /// Registers a waker to be woken when a buffer is recycled.
    pub(crate) fn wait_for_buffer(&self, waker: &Waker) {
        let mut waiters = self.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push_back(waker.clone());
        }
    }

    pub(crate) fn stats(&self) -> BufRingStats {
        BufRingStats {
            total: usize::from(self.count),
            in_use: self.in_use.get(),
            buf_size: self.buf_size as usize,
        }
    }
}

/// Received bytes, in a provided buffer (dropping it gives the buffer back to the ring)
/// or, for a chunk its receiver left unread past its turn, in a heap copy.
pub struct RecvBuf {
    storage: Storage,
    /// Where the data starts in the buffer (past the recvmsg header with timestamps on).
    offset: u16,
    len: usize,
    reaped_us: u64,
}

/// Where a [`RecvBuf`]'s bytes are.
enum Storage {
    Ring { ring: Rc<BufRing>, bid: u16 },
    Heap(Box<[u8]>),
}

impl RecvBuf {
    pub(crate) fn new(ring: Rc<BufRing>, bid: u16, len: usize, reaped_us: u64) -> Self {
        debug_assert!(len <= ring.buf_size as usize);
        RecvBuf {
            storage: Storage::Ring { ring, bid },
            offset: 0,
            len,
            reaped_us,
        }
    }

    /// Bytes that were moved out of their provided buffer (see `driver/evict.rs`).
    pub(crate) fn moved(bytes: Box<[u8]>, reaped_us: u64) -> Self {
        RecvBuf {
            len: bytes.len(),
            storage: Storage::Heap(bytes),
            offset: 0,
            reaped_us,
        }
    }

    /// Keeps only `len` bytes from `offset` (a recvmsg's payload, after its header).
    pub(crate) fn narrow(&mut self, offset: usize, len: usize) {
        assert!(offset + len <= self.len, "narrowed past the received bytes");
        self.offset += u16::try_from(offset).expect("recvmsg header fits in u16");
        self.len = len;
    }

    /// When the core reaped the completion that delivered these bytes, in
    /// [`loop_clock_us`](crate::metrics::loop_clock_us) units: the arrival time as the
    /// core first saw it, even when the chunk is read later (it queues while its
    /// connection's task is busy). 0 when metrics are off.
    pub fn reaped_at_us(&self) -> u64 {
        self.reaped_us
    }

    /// Number of received bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes were received.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Deref for RecvBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let start = usize::from(self.offset);
        match &self.storage {
            // SAFETY: the kernel wrote `offset + len` bytes into buffer `bid` and handed it
            // to us (narrow only shrinks the range); it is not republished to the kernel
            // until this RecvBuf is dropped.
            Storage::Ring { ring, bid } => unsafe {
                std::slice::from_raw_parts(ring.buffer_ptr(*bid).add(start), self.len)
            },
            Storage::Heap(bytes) => &bytes[start..start + self.len],
        }
    }
}

impl AsRef<[u8]> for RecvBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for RecvBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBuf")
            .field(
                "bid",
                &match self.storage {
                    Storage::Ring { bid, .. } => Some(bid),
                    Storage::Heap(_) => None,
                },
            )
            .field("len", &self.len)
            .field("reaped_us", &self.reaped_us)
            .finish()
    }
}

impl Drop for RecvBuf {
    fn drop(&mut self) {
        if let Storage::Ring { ring, bid } = &self.storage {
            ring.recycle(*bid);
        }
    }
}
