//! The single `io_uring_enter` per loop iteration and completion dispatch to slots.

use std::io;
use std::time::{Duration, Instant};

use io_uring::{cqueue, types};

use super::evict::CQE_F_BUFFER;
use super::slot::{Completion, OpKey, OpKind, Queued, SlotState, WAKE_USER_DATA};
use super::Driver;
use crate::buf_ring::Taken;

/// A multishot receive that has this many unread chunks queued is cancelled; its owner
/// re-arms it once it has read them. Until then further data waits in the socket buffer,
/// where TCP flow control applies, instead of draining the core's provided-buffer ring.
pub(crate) const RECV_QUEUE_LIMIT: usize = 16;

impl Driver {
    /// One `io_uring_enter`: submits everything queued and, with GETEVENTS, runs deferred
    /// completion work. With `wait`, blocks until one completion or `timeout` elapses.
    pub(crate) fn enter(&mut self, wait: bool, timeout: Option<Duration>) -> io::Result<()> {
        if !self.fixed_closes.borrow().is_empty() {
            self.flush_fixed_closes();
        }
        if !self.retired_send_rings.borrow().is_empty() {
            self.flush_send_ring_drops();
        }
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

    /// Enters without waiting, again and again, until a completion is queued (true) or
    /// `until` passes (false): the core keeps its CPU through a short gap in the traffic.
    pub(crate) fn poll_until(&mut self, until: Instant) -> io::Result<bool> {
        loop {
            // With DEFER_TASKRUN completions are only posted inside an enter.
            self.enter(false, None)?;
            if !self.ring.completion().is_empty() {
                return Ok(true);
            }
            if Instant::now() >= until {
                return Ok(false);
            }
            std::hint::spin_loop();
        }
    }

    /// Drains the completion queue, routing each CQE to its slot. Returns how many.
    pub(crate) fn reap(&mut self) -> usize {
        let mut count = 0;
        // Set just before this reap (CoreMetrics::on_enter): one thread-local read.
        let reaped_us = crate::metrics::loop_clock_us();
        loop {
            // Copy a batch out so that dispatch can push SQEs (cancels, the wake-up read).
            let mut batch: [(u64, i32, u32); 64] = [(0, 0, 0); 64];
            let mut n = 0;
            for cqe in self.ring.completion().take(64) {
                batch[n] = (cqe.user_data(), cqe.result(), cqe.flags());
                n += 1;
            }
            for &(user_data, result, flags) in &batch[..n] {
                self.dispatch(
                    user_data,
                    Completion {
                        result,
                        flags,
                        reaped_us,
                        buf_offset: 0,
                    },
                );
            }
            count += n;
            if n < 64 {
                return count;
            }
        }
    }

    /// The kind of the live op `user_data` names, if any.
    fn kind_of(&self, user_data: u64) -> Option<OpKind> {
        let key = OpKey::from_user_data(user_data)?;
        let slot = self.slots.get(key.index as usize)?;
        (slot.generation == key.generation).then_some(slot.kind)
    }

    fn dispatch(&mut self, user_data: u64, mut c: Completion) {
        let mut moved = None;
        // Only once a send ring was made: the receive path pays one field test, no lookup.
        if self.send_groups.any_made()
            && cqueue::buffer_select(c.flags).is_some()
            && self.kind_of(user_data) == Some(OpKind::SendsFromRing)
        {
            // The buffer it names is in the sender's own ring, not the receive ring.
            c.flags &= !CQE_F_BUFFER;
        }
        if let Some(bid) = cqueue::buffer_select(c.flags) {
            match self.buf_ring.take(bid, c.result.max(0) as u32, c.flags) {
                Taken::At(offset) => c.buf_offset = offset,
                Taken::Moved(bytes) => {
                    // A bundle, already copied out and recycled: nothing left to release.
                    c.flags &= !CQE_F_BUFFER;
                    moved = Some(bytes);
                }
            }
        }
        let Some(key) = OpKey::from_user_data(user_data) else {
            if user_data == WAKE_USER_DATA {
                self.wake_armed = false;
                self.woken = true;
                if !self.closing() {
                    self.arm_wake_read();
                }
            }
            return; // CANCEL_ or CLOSE_USER_DATA: their own results are of no interest.
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
                cancelling,
            } => {
                queue.push_back(Queued {
                    completion: c,
                    moved,
                });
                // Checked once its owner has had its turn to run (see `unread`).
                let unread =
                    kind == OpKind::SelectsBuffer && cqueue::buffer_select(c.flags).is_some();
                if !c.has_more() {
                    *finished = true;
                }
                let throttle = kind == OpKind::SelectsBuffer
                    && !*finished
                    && !*cancelling
                    && queue.len() >= RECV_QUEUE_LIMIT;
                if throttle {
                    *cancelling = true;
                }
                // By reference, kept: the owner's next poll finds it registered already
                // (a stale wake-up is harmless, the executor checks the task's generation).
                if let Some(w) = waker {
                    w.wake_by_ref();
                }
                if unread {
                    self.unread.push(key);
                }
                if throttle {
                    self.cancel(key);
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
}
