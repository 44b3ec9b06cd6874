//! Receive chunks their owner left unread leave the provided-buffer ring.
//!
//! A multishot receive takes a buffer from the core's ring whenever data arrives, whether
//! or not its owner is reading. An owner that stops reading (waiting to send to a client
//! that does not read, or in a slow handler) would keep every chunk that arrives meanwhile
//! in a ring buffer, and a thousand such connections empty the ring for everyone else.
//!
//! So once per loop iteration, after every ready task has run, the chunks still queued
//! for a receive that got data in the last reap are copied out to the heap (exactly their
//! length) and their buffers recycled at once, and the receive is cancelled; the owner
//! re-arms it when it reads again, and until then further data waits in the socket, where
//! TCP flow control applies. A connection that is not reading thus holds no provided
//! buffer, and at most what one receive burst brought before the cancel landed on the
//! heap. The fast path is untouched: an owner that reads its chunk in its turn (as a
//! connection waiting for its next request does) never has it copied.
//!
//! Measured on one core with 1,000 connections pipelining requests they never read: ring
//! buffers in use went from 1,023 of 1,024 (the 16-chunk throttle alone) to a handful.
//! Cancelling the receive whenever the owner stops reading would cost two SQEs per
//! request on the fast path; incremental buffer consumption (`IOU_PBUF_RING_INC`) still
//! pins a buffer per stalled connection; copying every chunk would cost the fast path a
//! copy and an allocation.

use io_uring::cqueue;

use super::slot::SlotState;
use super::Driver;

/// `IORING_CQE_F_BUFFER`: the completion carries a provided buffer (its id in the upper
/// 16 bits of the flags).
pub(super) const CQE_F_BUFFER: u32 = 1;

impl Driver {
    /// Moves the chunks that owners did not read in their turn out of the buffer ring,
    /// and cancels those receives (see the module docs). Called after the ready tasks ran.
    pub(crate) fn evict_unread(&mut self) {
        if self.unread.is_empty() {
            return;
        }
        let mut keys = std::mem::take(&mut self.unread);
        for &key in &keys {
            let Some(slot) = self.slots.get_mut(key.index as usize) else {
                continue;
            };
            if slot.generation != key.generation {
                continue;
            }
            let SlotState::Multi {
                queue,
                finished,
                cancelling,
                ..
            } = &mut slot.state
            else {
                continue;
            };
            let mut moved = false;
            for q in queue.iter_mut() {
                let Some(bid) = cqueue::buffer_select(q.completion.flags) else {
                    continue;
                };
                let len = usize::try_from(q.completion.result).unwrap_or(0);
                q.moved = Some(self.buf_ring.copy_out(bid, q.completion.buf_offset, len));
                q.completion.flags &= !CQE_F_BUFFER;
                moved = true;
            }
            let cancel = moved && !*finished && !*cancelling;
            if cancel {
                *cancelling = true;
                self.cancel(key);
            }
        }
        keys.clear();
        self.unread = keys; // keeps its capacity: no allocation per iteration
    }
}
