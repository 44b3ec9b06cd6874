//! The io_uring driver of one core: submission, the single `io_uring_enter` per loop
//! iteration, and completion dispatch to operation slots.

pub(crate) mod ring;
pub(crate) mod slot;

use std::any::Any;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use slab::Slab;

use crate::buf_ring::BufRing;
use crate::sys;
pub use ring::{RingFlags, RingInfo};
use slot::{Completion, OpKey, OpKind, Slot, SlotState, CANCEL_USER_DATA, WAKE_USER_DATA};

/// Buffer group id of the per-core provided-buffer ring.
const BUF_GROUP: u16 = 0;

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
}

impl Driver {
    /// Sets up the ring, the provided-buffer ring and the wake-up read.
    pub(crate) fn new(
        entries: u32,
        flags: RingFlags,
        buf_count: u16,
        buf_size: u32,
        wake_fd: RawFd,
    ) -> Result<Self, crate::Error> {
        let (ring, info) = ring::setup(entries, flags)?;
        let buf_ring = BufRing::register(&ring, buf_count, buf_size, BUF_GROUP).map_err(|e| {
            crate::Error::RingSetup {
                message: format!(
                    "registering {buf_count} provided buffers of {buf_size} bytes failed: {e} \
                     (needs Linux 5.19+; try fewer buffers)"
                ),
                source: e,
            }
        })?;
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
                queue: VecDeque::new(),
                finished: false,
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
    pub(crate) fn poll_multi(
        &mut self,
        key: OpKey,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Completion>> {
        let slot = self.slot_mut(key);
        match &mut slot.state {
            SlotState::Multi {
                waker,
                queue,
                finished,
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
                queue, finished, ..
            } => {
                for c in queue {
                    self.release(kind, c);
                }
                if finished {
                    self.slots.remove(key.index as usize);
                } else {
                    self.cancel(key);
                }
            }
            SlotState::Pending { .. } => self.cancel(key),
            SlotState::Abandoned { .. } => panic!("coreline: operation abandoned twice"),
        }
    }

    fn cancel(&mut self, key: OpKey) {
        let entry = opcode::AsyncCancel::new(key.user_data())
            .build()
            .user_data(CANCEL_USER_DATA);
        self.push(entry);
    }

    /// Frees whatever a completion nobody will read carries: a new fd or a provided buffer.
    fn release(&self, kind: OpKind, c: Completion) {
        if let Some(bid) = cqueue::buffer_select(c.flags) {
            self.buf_ring.recycle(bid);
        }
        if kind == OpKind::YieldsFd && c.result >= 0 {
            sys::close_raw(c.result);
        }
    }

    /// One `io_uring_enter`: submits everything queued and, with GETEVENTS, runs deferred
    /// completion work. With `wait`, blocks until one completion or `timeout` elapses.
    pub(crate) fn enter(&mut self, wait: bool, timeout: Option<Duration>) -> io::Result<()> {
        let to_submit = {
            let mut sq = self.ring.submission();
            sq.sync();
            sq.len() as u32
        };
        let min_complete = u32::from(wait);
        let getevents = io_uring::EnterFlags::GETEVENTS.bits();
        let result = match timeout.filter(|_| wait) {
            Some(t) => {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new().timespec(&ts);
                let flags = getevents | io_uring::EnterFlags::EXT_ARG.bits();
                // SAFETY: args (and the timespec it points to) outlive the call; EXT_ARG
                // tells the kernel to read it as io_uring_getevents_arg, which it is.
                unsafe {
                    self.ring
                        .submitter()
                        .enter(to_submit, min_complete, flags, Some(&args))
                }
            }
            // SAFETY: no argument pointer is passed.
            None => unsafe {
                self.ring.submitter().enter::<libc::sigset_t>(
                    to_submit,
                    min_complete,
                    getevents,
                    None,
                )
            },
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.raw_os_error() {
                // Timed out, interrupted, or completions must be reaped first: all normal.
                Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN) => {
                    Ok(())
                }
                _ => Err(e),
            },
        }
    }

    /// Drains the completion queue, routing each CQE to its slot. Returns how many.
    pub(crate) fn reap(&mut self) -> usize {
        let mut count = 0;
        loop {
            // Copy a batch out so that dispatch can push SQEs (cancels, the wake-up read).
            let mut batch: [(u64, i32, u32); 64] = [(0, 0, 0); 64];
            let mut n = 0;
            for cqe in self.ring.completion().take(64) {
                batch[n] = (cqe.user_data(), cqe.result(), cqe.flags());
                n += 1;
            }
            for &(user_data, result, flags) in &batch[..n] {
                self.dispatch(user_data, Completion { result, flags });
            }
            count += n;
            if n < 64 {
                return count;
            }
        }
    }

    fn dispatch(&mut self, user_data: u64, c: Completion) {
        if cqueue::buffer_select(c.flags).is_some() {
            self.buf_ring.note_taken();
        }
        let Some(key) = OpKey::from_user_data(user_data) else {
            if user_data == WAKE_USER_DATA {
                self.wake_armed = false;
                self.woken = true;
                if !self.closing() {
                    self.arm_wake_read();
                }
            }
            return; // CANCEL_USER_DATA: the cancel request's own result is of no interest.
        };
        let index = key.index as usize;
        let slot = match self.slots.get_mut(index) {
            Some(slot) if slot.generation == key.generation => slot,
            // A stale completion for a slot that no longer exists: release, never deliver.
            _ => return self.release(OpKind::Plain, c),
        };
        let kind = slot.kind;
        match &mut slot.state {
            SlotState::Pending { waker, first } => {
                if c.has_more() {
                    // SEND_ZC: result now, buffer notification later. Keep waiting.
                    *first = Some(c);
                    return;
                }
                let result = first.take().unwrap_or(c);
                let waker = waker.take();
                slot.state = SlotState::Done(result);
                if let Some(w) = waker {
                    w.wake();
                }
            }
            SlotState::Multi {
                waker,
                queue,
                finished,
            } => {
                queue.push_back(c);
                if !c.has_more() {
                    *finished = true;
                }
                if let Some(w) = waker.take() {
                    w.wake();
                }
            }
            SlotState::Abandoned { .. } => {
                if !c.has_more() {
                    self.slots.remove(index);
                }
                self.release(kind, c);
            }
            SlotState::Done(_) => self.release(kind, c),
        }
    }

    /// Slots the kernel may still write to (finished ones merely await their owner).
    fn kernel_owned(&self) -> usize {
        self.slots
            .iter()
            .filter(|(_, s)| match &s.state {
                SlotState::Done(_) => false,
                SlotState::Multi { finished, .. } => !finished,
                _ => true,
            })
            .count()
    }

    fn closing(&self) -> bool {
        self.wake_fd < 0
    }

    /// Cancels everything still in flight and waits (bounded) until the kernel has let go
    /// of every buffer, so nothing is freed while the kernel might still write to it.
    pub(crate) fn drain(&mut self) {
        self.wake_fd = -1; // stop re-arming the wake-up read
        let all = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(CANCEL_USER_DATA);
        self.push(all);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while (self.kernel_owned() > 0 || self.wake_armed) && std::time::Instant::now() < deadline {
            if self.enter(true, Some(Duration::from_millis(10))).is_err() {
                break;
            }
            self.reap();
            // An op that raced with the first cancel-any (e.g. a re-armed multishot) gets
            // another one.
            if self.kernel_owned() > 0 {
                self.push(
                    opcode::AsyncCancel2::new(types::CancelBuilder::any())
                        .build()
                        .user_data(CANCEL_USER_DATA),
                );
            }
        }
        if self.kernel_owned() > 0 || self.wake_armed {
            // The kernel did not give everything back: leak the memory rather than free it
            // under the kernel's feet.
            eprintln!(
                "coreline: warning: {} io_uring operations did not finish at shutdown; \
                 leaking their buffers",
                self.slots.len()
            );
            std::mem::forget(std::mem::take(&mut self.slots));
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
        }
    }
}

fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}
