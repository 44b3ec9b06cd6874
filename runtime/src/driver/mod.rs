//! The io_uring driver of one core: submission, the single `io_uring_enter` per loop
//! iteration, and completion dispatch to operation slots.

mod completion;
mod evict;
mod recv_msg;
pub(crate) mod ring;
mod send_bufs;
mod shutdown;
pub(crate) mod slot;
pub(crate) mod sqe_patch;

use std::any::Any;
use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use slab::Slab;

use crate::buf_ring::{BufRing, BufRingMode};
use crate::sys;
pub(crate) use recv_msg::MsgTemplate;
pub use ring::{RegisteredSendOp, RingFlags, RingInfo};
pub(crate) use send_bufs::RetiredSendRing;
pub(crate) use slot::Queued;
use slot::{
    Completion, OpKey, OpKind, Slot, SlotState, CANCEL_USER_DATA, CLOSE_USER_DATA, WAKE_USER_DATA,
};

/// Buffer group id of the per-core provided-buffer ring.
const BUF_GROUP: u16 = 0;

/// The provided-buffer ring a core asks for: `count` buffers of `size` bytes in `mode`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecvBuffers {
    pub(crate) count: u16,
    pub(crate) size: u32,
    pub(crate) mode: BufRingMode,
}

/// Per-core io_uring state. Lives in a thread-local; never shared across threads.
pub(crate) struct Driver {
    // Field order matters: the ring must be closed before the buffer ring's memory goes.
    ring: IoUring,
    slots: Slab<Slot>,
    next_generation: u32,
    info: RingInfo,
    pub(crate) buf_ring: Rc<BufRing>,
    /// The eventfd other threads write to wake this core, and the buffer its read fills.
    wake_fd: RawFd,
    wake_buf: Box<u64>,
    wake_armed: bool,
    /// Set when the wake-up read completed; the core loop drains its remote queue.
    pub(crate) woken: bool,
    /// With receive timestamps on: the msghdr every multishot recvmsg points at.
    pub(crate) rx_msg: Option<MsgTemplate>,
    /// Multishot receives that queued a chunk in this reap: what their owners have not
    /// read after their next turn leaves the provided-buffer ring (`evict.rs`).
    unread: Vec<OpKey>,
    /// `ASYNC_CANCEL`s submitted, one operation each (see `CoreStats::cancels`).
    pub(crate) cancels: u64,
    /// Direct descriptors whose last owner went (see `FixedFd`), closed at the next enter.
    pub(crate) fixed_closes: Rc<std::cell::RefCell<Vec<u32>>>,
    /// Buffers registered for sends, by table slot (`ops::RegisteredBuf`); they live as
    /// long as the ring (declared after it, so dropped after it).
    send_bufs: Vec<Rc<[u8]>>,
    /// Whether the (sparse) table for `send_bufs` is registered.
    send_table: bool,
    /// Buffer group ids for send rings (`ops::SendRing`).
    send_groups: send_bufs::SendGroups,
    /// Send rings whose owners went, unregistered at the next enter; their memory lives
    /// until then (declared after the ring, so it outlives it at the driver's drop).
    pub(crate) retired_send_rings: Rc<std::cell::RefCell<Vec<RetiredSendRing>>>,
}

impl Driver {
    /// Sets up the ring, the provided-buffer ring (`bufs`), the direct-descriptor table
    /// (when `fixed_files` > 0) and the wake-up read. `rx_msg`, when given, is the msghdr
    /// the core's multishot recvmsg operations will point at.
    pub(crate) fn new(
        entries: u32,
        flags: RingFlags,
        bufs: RecvBuffers,
        fixed_files: u32,
        wake_fd: RawFd,
        rx_msg: Option<MsgTemplate>,
    ) -> Result<Self, crate::Error> {
        let (ring, mut info) = ring::setup(entries, flags)?;
        info.fixed_files = ring::register_fixed_table(&ring, fixed_files);
        let RecvBuffers { count, size, mode } = bufs;
        let wanted = BufRingMode {
            // Bundles only where the kernel has them; recvmsg (timestamps) cannot bundle.
            bundles: mode.bundles && info.bundles_supported && rx_msg.is_none(),
            ..mode
        };
        let buf_ring = BufRing::register(&ring, count, size, BUF_GROUP, wanted).map_err(|e| {
            crate::Error::RingSetup {
                message: format!(
                    "registering {count} provided buffers of {size} bytes failed: {e} \
                     (needs Linux 5.19+; try fewer buffers)"
                ),
                source: e,
            }
        })?;
        info.recv_bundles = buf_ring.mode().bundles;
        info.incremental_buffers = buf_ring.mode().incremental;
        let mut driver = Driver {
            ring,
            slots: Slab::with_capacity(256),
            next_generation: 0,
            info,
            buf_ring,
            wake_fd,
            wake_buf: Box::new(0),
            wake_armed: false,
            woken: false,
            rx_msg,
            unread: Vec::new(),
            cancels: 0,
            fixed_closes: Rc::default(),
            send_bufs: Vec::new(),
            send_table: false,
            send_groups: send_bufs::SendGroups::default(),
            retired_send_rings: Rc::default(),
        };
        driver.arm_wake_read();
        Ok(driver)
    }

    pub(crate) fn info(&self) -> &RingInfo {
        &self.info
    }

    /// Number of operations the kernel still owns (including abandoned ones).
    pub(crate) fn in_flight(&self) -> usize {
        self.slots.len()
    }

    fn arm_wake_read(&mut self) {
        let buf: *mut u64 = &mut *self.wake_buf;
        let entry = opcode::Read::new(types::Fd(self.wake_fd), buf.cast(), 8)
            .build()
            .user_data(WAKE_USER_DATA);
        self.push(entry);
        self.wake_armed = true;
    }

    /// Queues an SQE, flushing the submission queue to the kernel first if it is full.
    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry we build points only at memory owned by its slot (or by
            // the driver for internal ops) that stays alive until its final CQE.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return;
            }
            // Full: hand what we have to the kernel without waiting, then retry.
            if let Err(e) = self.enter(false, None) {
                panic!("coreline: io_uring submit failed with a full submission queue: {e}");
            }
        }
    }

    /// Registers a new operation and queues its SQE. The caller must keep every buffer the
    /// SQE points at alive until the slot is finished (or hand them over with `abandon`).
    pub(crate) fn submit(&mut self, entry: squeue::Entry, kind: OpKind, multishot: bool) -> OpKey {
        self.next_generation = (self.next_generation + 1) & 0x7fff_ffff;
        let generation = self.next_generation;
        let state = if multishot {
            SlotState::Multi {
                waker: None,
                // Room for one completion: a keep-alive connection's receive rarely holds
                // more than one chunk at a time, and an idle connection keeps this
                // allocation for as long as it lives (a default first growth would be 4).
                // Bursts grow it as usual, once.
                queue: VecDeque::with_capacity(1),
                finished: false,
                cancelling: false,
            }
        } else {
            SlotState::Pending {
                waker: None,
                first: None,
            }
        };
        let index = self.slots.insert(Slot {
            generation,
            kind,
            state,
        });
        let key = OpKey {
            index: index as u32,
            generation,
        };
        self.push(entry.user_data(key.user_data()));
        key
    }

    fn slot_mut(&mut self, key: OpKey) -> &mut Slot {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => slot,
            _ => panic!("coreline: operation slot {key:?} vanished (driver bug)"),
        }
    }

    /// Polls a single-shot operation; on completion its slot is freed.
    pub(crate) fn poll_op(&mut self, key: OpKey, cx: &mut Context<'_>) -> Poll<Completion> {
        let slot = self.slot_mut(key);
        match &mut slot.state {
            SlotState::Done(c) => {
                let c = *c;
                self.slots.remove(key.index as usize);
                Poll::Ready(c)
            }
            SlotState::Pending { waker, .. } => {
                set_waker(waker, cx);
                Poll::Pending
            }
            _ => panic!("coreline: poll_op on a slot that is not single-shot"),
        }
    }

    /// Polls a multishot operation for its next completion. `Ready(None)` means the kernel
    /// ended it (its slot is then freed) and the owner must re-arm if it wants more.
    pub(crate) fn poll_multi(&mut self, key: OpKey, cx: &mut Context<'_>) -> Poll<Option<Queued>> {
        let slot = self.slot_mut(key);
        match &mut slot.state {
            SlotState::Multi {
                waker,
                queue,
                finished,
                ..
            } => {
                if let Some(c) = queue.pop_front() {
                    return Poll::Ready(Some(c));
                }
                if *finished {
                    self.slots.remove(key.index as usize);
                    return Poll::Ready(None);
                }
                set_waker(waker, cx);
                Poll::Pending
            }
            _ => panic!("coreline: poll_multi on a slot that is not multishot"),
        }
    }

    /// The owner of an operation went away. If the kernel is done, release its result now;
    /// otherwise park `keep` (the op's buffers) in the slot and ask the kernel to cancel.
    pub(crate) fn abandon(&mut self, key: OpKey, keep: Box<dyn Any>) {
        let slot = self.slot_mut(key);
        let kind = slot.kind;
        let state = std::mem::replace(&mut slot.state, SlotState::Abandoned { _keep: keep });
        match state {
            SlotState::Done(c) => {
                self.slots.remove(key.index as usize);
                self.release(kind, c);
            }
            SlotState::Multi {
                queue,
                finished,
                cancelling,
                ..
            } => {
                for q in queue {
                    self.release(kind, q.completion);
                }
                if finished {
                    self.slots.remove(key.index as usize);
                } else if !cancelling {
                    self.cancel(key);
                }
            }
            SlotState::Pending { .. } => self.cancel(key),
            SlotState::Abandoned { .. } => panic!("coreline: operation abandoned twice"),
        }
    }

    /// The owner of multishot op `key` asks it to end. One cancel is enough: none is sent
    /// when one is on its way already (the driver's throttle or eviction of unread
    /// chunks, `evict.rs`) or when the kernel has ended the op.
    pub(crate) fn cancel_multi(&mut self, key: OpKey) {
        if let SlotState::Multi {
            finished,
            cancelling,
            ..
        } = &mut self.slot_mut(key).state
        {
            if *finished || std::mem::replace(cancelling, true) {
                return;
            }
        }
        self.cancel(key);
    }

    pub(super) fn cancel(&mut self, key: OpKey) {
        self.cancels += 1;
        let entry = opcode::AsyncCancel::new(key.user_data())
            .build()
            .user_data(CANCEL_USER_DATA);
        self.push(entry);
    }

    /// Queues the close of direct descriptor `slot`. Operations already issued on it hold
    /// their own reference to the file, so the socket lives until they end.
    pub(crate) fn close_fixed(&mut self, slot: u32) {
        let entry = opcode::Close::new(types::Fixed(slot))
            .build()
            .user_data(CLOSE_USER_DATA);
        self.push(entry);
    }

    /// Queues the closes of the direct descriptors dropped since the last enter.
    fn flush_fixed_closes(&mut self) {
        let closes = std::mem::take(&mut *self.fixed_closes.borrow_mut());
        for slot in closes {
            self.close_fixed(slot);
        }
    }

    /// Frees whatever a completion nobody will read carries: a new fd, a new direct
    /// descriptor or a provided buffer.
    fn release(&mut self, kind: OpKind, c: Completion) {
        if let Some(bid) = cqueue::buffer_select(c.flags) {
            self.buf_ring.release_piece(bid);
        }
        match kind {
            OpKind::YieldsFd if c.result >= 0 => sys::close_raw(c.result),
            OpKind::YieldsFixed if c.result >= 0 => self.close_fixed(c.result as u32),
            _ => {}
        }
    }
}

fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}
