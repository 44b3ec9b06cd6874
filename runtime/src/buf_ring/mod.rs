//! The per-core provided-buffer ring (`IORING_REGISTER_PBUF_RING`).
//!
//! Multishot receives pick a buffer from this ring only when data arrives, so an idle
//! connection holds none. A [`RecvBuf`] owns one buffer until it is dropped, which puts it
//! back at the ring's tail. When the ring runs dry the kernel ends the multishot receive
//! with `ENOBUFS`; the receiver then waits here until a buffer comes back and re-arms.
//!
//! Two optional modes ([`BufRingMode`]):
//! - incremental consumption (`IOU_PBUF_RING_INC`): the kernel fills a buffer piece by
//!   piece, one receive after another, and flags `IORING_CQE_F_BUF_MORE` while it keeps
//!   using it. A buffer then goes back to the ring only when the kernel is done with it
//!   and every [`RecvBuf`] that points into it is dropped (a count per buffer), and each
//!   piece's offset is taken in completion order, at the reap;
//! - receive bundles (`IORING_RECVSEND_BUNDLE`): one completion for several buffers, the
//!   ones that follow in ring order. The ring keeps which buffer it published at each
//!   position to name them; a completion that spans more than one buffer is copied to the
//!   heap at the reap (a [`RecvBuf`] is one contiguous slice) and its buffers recycled.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::task::Waker;

use io_uring::types::{BufRingEntry, IOU_PBUF_RING_INC};
use io_uring::{cqueue, IoUring};

mod mapping;
mod recv_buf;
pub(crate) mod send_ring;

use mapping::Mapping;
pub use recv_buf::RecvBuf;

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

/// How a [`BufRing`] hands its buffers out (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BufRingMode {
    /// `IOU_PBUF_RING_INC`: buffers consumed piece by piece.
    pub(crate) incremental: bool,
    /// `IORING_RECVSEND_BUNDLE` on multishot receives.
    pub(crate) bundles: bool,
}

/// What a completion took from the ring, as its reap found it.
pub(crate) enum Taken {
    /// A piece of its buffer starting at this offset (0 unless incremental).
    At(u32),
    /// A bundle of several buffers, copied out; the buffers are back in the ring.
    Moved(Box<[u8]>),
}

/// An incrementally consumed buffer's state.
#[derive(Debug, Clone, Copy, Default)]
struct Piecewise {
    /// Bytes the kernel has filled so far: where its next piece starts.
    consumed: u32,
    /// [`RecvBuf`]s (and queued completions) pointing into the buffer.
    pieces: u16,
    /// The last completion on it had `IORING_CQE_F_BUF_MORE`: the kernel keeps filling it.
    kernel_holds: bool,
}

/// A registered provided-buffer ring and the buffers it hands out.
pub(crate) struct BufRing {
    entries: Mapping,
    buffers: Mapping,
    count: u16,
    buf_size: u32,
    group: u16,
    mode: BufRingMode,
    tail: Cell<u16>,
    /// Where the kernel takes its next buffer (tracked in bundle mode only).
    head: Cell<u16>,
    /// The buffer id published at each ring position.
    published: RefCell<Box<[u16]>>,
    /// Per buffer, in incremental mode (empty otherwise).
    piecewise: RefCell<Box<[Piecewise]>>,
    in_use: Cell<usize>,
    /// Receivers waiting for a buffer after the ring ran dry, in arrival order.
    waiters: RefCell<VecDeque<Waker>>,
}

impl BufRing {
    /// Maps `count` buffers of `buf_size` bytes and registers them as buffer group `group`,
    /// in the `wanted` mode where the kernel accepts it (incremental consumption falls
    /// back to whole buffers; bundles are used only without it). `mode()` says which.
    pub(crate) fn register(
        ring: &IoUring,
        count: u16,
        buf_size: u32,
        group: u16,
        wanted: BufRingMode,
    ) -> io::Result<Rc<Self>> {
        if !count.is_power_of_two() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("provided-buffer count must be a power of two, got {count}"),
            ));
        }
        let entries = Mapping::new(usize::from(count) * std::mem::size_of::<BufRingEntry>())?;
        let buffers = Mapping::new(usize::from(count) * buf_size as usize)?;
        let mut this = BufRing {
            entries,
            buffers,
            count,
            buf_size,
            group,
            mode: BufRingMode::default(),
            tail: Cell::new(0),
            head: Cell::new(0),
            published: RefCell::new(vec![0; usize::from(count)].into()),
            piecewise: RefCell::new(Box::new([])),
            in_use: Cell::new(0),
            waiters: RefCell::new(VecDeque::new()),
        };
        let register = |flags: u16| {
            // SAFETY: the entry array is page-aligned, `count` entries long, and stays
            // mapped until after the ring is unregistered (Driver drops the ring before
            // this BufRing, and RecvBufs keep it alive with their Rc).
            unsafe {
                ring.submitter().register_buf_ring_with_flags(
                    this.entries.ptr.as_ptr() as u64,
                    count,
                    group,
                    flags,
                )
            }
        };
        let incremental = wanted.incremental
            && match register(IOU_PBUF_RING_INC as u16) {
                Ok(()) => true,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    log::warn!("coreline: no incremental provided buffers ({e}); whole buffers");
                    register(0)?;
                    false
                }
                Err(e) => return Err(e),
            };
        if !wanted.incremental {
            register(0)?;
        }
        this.mode = BufRingMode {
            incremental,
            bundles: wanted.bundles && !incremental,
        };
        if incremental {
            this.piecewise = RefCell::new(vec![Piecewise::default(); usize::from(count)].into());
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

    /// The mode in force.
    pub(crate) fn mode(&self) -> BufRingMode {
        self.mode
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
        self.published.borrow_mut()[index] = bid;
        self.tail.set(tail.wrapping_add(1));
    }

    /// Makes every pushed entry visible to the kernel.
    fn publish(&self) {
        self.entries.store_ring_tail(self.tail.get());
    }

    /// Records what a CQE that selected buffer `bid` took, in completion order (called at
    /// the reap): `len` is its result, `flags` its flags.
    pub(crate) fn take(&self, bid: u16, len: u32, flags: u32) -> Taken {
        if self.mode.incremental {
            let mut piecewise = self.piecewise.borrow_mut();
            let state = &mut piecewise[usize::from(bid)];
            let offset = state.consumed;
            state.consumed = state.consumed.saturating_add(len).min(self.buf_size);
            state.pieces += 1;
            state.kernel_holds = cqueue::buffer_more(flags);
            if !state.kernel_holds {
                self.in_use.set(self.in_use.get() + 1);
            }
            return Taken::At(offset);
        }
        if !self.mode.bundles {
            self.in_use.set(self.in_use.get() + 1);
            return Taken::At(0);
        }
        let buffers = len.div_ceil(self.buf_size).max(1);
        let start = self.find_published(bid);
        self.head.set(start.wrapping_add(buffers as u16));
        self.in_use.set(self.in_use.get() + buffers as usize);
        if buffers == 1 {
            return Taken::At(0);
        }
        let mut copy = Vec::with_capacity(len as usize);
        let mut left = len as usize;
        for k in 0..buffers as u16 {
            let position = usize::from(start.wrapping_add(k) & (self.count - 1));
            let this_bid = self.published.borrow()[position];
            let n = left.min(self.buf_size as usize);
            // SAFETY: the kernel filled the bundle's buffers in ring order, each whole but
            // the last, and handed them to us with this CQE; none is republished before
            // the recycle below.
            copy.extend_from_slice(unsafe {
                std::slice::from_raw_parts(self.buffer_ptr(this_bid), n)
            });
            left -= n;
            self.recycle(this_bid);
        }
        Taken::Moved(copy.into_boxed_slice())
    }

    /// The ring position of buffer `bid`, the first of a bundle: the tracked head, or the
    /// next position that holds `bid` if completions were not in consumption order.
    fn find_published(&self, bid: u16) -> u16 {
        let head = self.head.get();
        let published = self.published.borrow();
        (0..self.count)
            .map(|k| head.wrapping_add(k))
            .find(|p| published[usize::from(p & (self.count - 1))] == bid)
            .unwrap_or(head)
    }

    /// Gives back one piece of buffer `bid` (a whole buffer unless incremental): the
    /// buffer returns to the ring once the kernel is done with it and no piece is left.
    pub(crate) fn release_piece(&self, bid: u16) {
        if self.mode.incremental {
            let mut piecewise = self.piecewise.borrow_mut();
            let state = &mut piecewise[usize::from(bid)];
            state.pieces = state.pieces.saturating_sub(1);
            if state.pieces > 0 || state.kernel_holds {
                return;
            }
            state.consumed = 0;
        }
        self.recycle(bid);
    }

    /// Returns buffer `bid` to the ring and wakes one receiver waiting for a buffer: one
    /// buffer serves one receiver, and waking them all would have every one re-arm to
    /// race for it.
    fn recycle(&self, bid: u16) {
        self.push(bid);
        self.publish();
        self.in_use.set(self.in_use.get().saturating_sub(1));
        self.wake_one();
    }

    /// Copies the `len` bytes at `offset` of buffer `bid` (handed to us by a CQE) to the
    /// heap and releases that piece.
    pub(crate) fn copy_out(&self, bid: u16, offset: u32, len: usize) -> Box<[u8]> {
        let offset = offset.min(self.buf_size) as usize;
        let len = len.min(self.buf_size as usize - offset);
        // SAFETY: a CQE handed these `len` bytes of buffer `bid` to us (clamped to the
        // buffer above), and the buffer is not republished until the release below.
        let bytes = unsafe { std::slice::from_raw_parts(self.buffer_ptr(bid).add(offset), len) };
        let copy = Box::<[u8]>::from(bytes);
        self.release_piece(bid);
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
