//! In-flight operation slots and the `user_data` encoding that names them.
//!
//! `user_data` = slab index (low 32 bits) | generation (bits 32..63). Bit 63 marks the
//! driver's own internal submissions (cancels, the wake-up read), whose CQEs carry no slot.
//! A CQE whose generation does not match the slot's is stale and is dropped, so a late
//! completion can never reach a slot that has been reused (the ABA problem).

use std::any::Any;
use std::collections::VecDeque;
use std::task::Waker;

/// Marks internal submissions whose CQEs must not be matched to a slot.
pub(crate) const INTERNAL_BIT: u64 = 1 << 63;
/// The CQE of an `ASYNC_CANCEL` we submitted: nothing to do.
pub(crate) const CANCEL_USER_DATA: u64 = INTERNAL_BIT;
/// The CQE of the read pending on this core's wake-up eventfd.
pub(crate) const WAKE_USER_DATA: u64 = INTERNAL_BIT | 1;
/// The CQE of a CLOSE of a direct descriptor nobody owns any more: nothing to do.
pub(crate) const CLOSE_USER_DATA: u64 = INTERNAL_BIT | 2;

/// Identifies one submitted operation: slot index plus the generation it was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpKey {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl OpKey {
    pub(crate) fn user_data(self) -> u64 {
        u64::from(self.index) | (u64::from(self.generation) << 32)
    }

    pub(crate) fn from_user_data(user_data: u64) -> Option<Self> {
        if user_data & INTERNAL_BIT != 0 {
            return None;
        }
        Some(OpKey {
            index: user_data as u32,
            generation: (user_data >> 32) as u32,
        })
    }
}

/// What kind of resource a CQE of this op may carry, so an abandoned one can be released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// Completes with a result only.
    Plain,
    /// A non-negative result is a new fd (accept, openat): close it if nobody wants it.
    YieldsFd,
    /// A non-negative result is a new direct descriptor (accept into the ring's table):
    /// close that slot if nobody wants it.
    YieldsFixed,
    /// CQEs may carry a provided buffer (`IORING_CQE_F_BUFFER`): give it back to the ring.
    SelectsBuffer,
    /// A send bundle: its CQE's buffer flag names a buffer of the sender's own ring
    /// (`ops::SendRing`), which the receive ring must not take.
    SendsFromRing,
}

/// One completion: result and flags, copied out of the CQ ring, and when it was reaped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    pub(crate) result: i32,
    pub(crate) flags: u32,
    /// [`loop_clock_us`](crate::metrics::loop_clock_us) at the reap (0 with metrics off):
    /// a multishot receive's chunk may be read long after, this says when it arrived.
    pub(crate) reaped_us: u64,
    /// Where the received bytes start in the provided buffer the CQE names (0 unless the
    /// buffer ring is incremental), taken at the reap.
    pub(crate) buf_offset: u32,
}

impl Completion {
    pub(crate) fn has_more(&self) -> bool {
        io_uring::cqueue::more(self.flags)
    }
}

/// A multishot completion waiting for its owner. `moved`: a receive chunk the owner left
/// unread past its turn was copied here and its provided buffer recycled (the completion's
/// buffer flag is then cleared, so nothing releases that buffer twice).
pub(crate) struct Queued {
    pub(crate) completion: Completion,
    pub(crate) moved: Option<Box<[u8]>>,
}

/// Where an operation stands.
pub(crate) enum SlotState {
    /// Single-shot op in flight. `first` keeps the result CQE of an op that posts a second
    /// (SEND_ZC's notification) until that second one arrives.
    Pending {
        waker: Option<Waker>,
        first: Option<Completion>,
    },
    /// Single-shot op done; waiting for its future to collect the result.
    Done(Completion),
    /// Multishot op: completions queue here until the owner takes them. `cancelling`: a
    /// cancel is on its way (the owner fell behind and the driver cancelled the op, or
    /// the owner asked), so no second one is sent; its final CQE is -ECANCELED.
    Multi {
        waker: Option<Waker>,
        queue: VecDeque<Queued>,
        finished: bool,
        cancelling: bool,
    },
    /// The future was dropped while the kernel still owns the op. `_keep` holds the
    /// buffers (and anything else the kernel may touch) until the final CQE arrives.
    Abandoned { _keep: Box<dyn Any> },
}

/// A slot in the driver's slab.
pub(crate) struct Slot {
    pub(crate) generation: u32,
    pub(crate) kind: OpKind,
    pub(crate) state: SlotState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_round_trips_and_never_collides_with_internal_tags() {
        for (index, generation) in [(0, 1), (7, 0x7fff_ffff), (u32::MAX, 12345)] {
            let key = OpKey { index, generation };
            let ud = key.user_data();
            assert_eq!(ud & INTERNAL_BIT, 0, "op user_data must not look internal");
            assert_eq!(OpKey::from_user_data(ud), Some(key));
        }
        assert_eq!(OpKey::from_user_data(CANCEL_USER_DATA), None);
        assert_eq!(OpKey::from_user_data(WAKE_USER_DATA), None);
    }

    #[test]
    fn reused_index_with_new_generation_is_a_different_key() {
        let old = OpKey {
            index: 3,
            generation: 1,
        };
        let new = OpKey {
            index: 3,
            generation: 2,
        };
        assert_ne!(old.user_data(), new.user_data());
        assert_ne!(OpKey::from_user_data(old.user_data()), Some(new));
    }
}
