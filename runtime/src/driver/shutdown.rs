//! Core shutdown: cancel everything in flight and wait until the kernel lets go of it.

use std::time::Duration;

use io_uring::{opcode, types};

use super::slot::{SlotState, CANCEL_USER_DATA};
use super::Driver;

impl Driver {
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

    pub(super) fn closing(&self) -> bool {
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
            log::warn!(
                "coreline: warning: {} io_uring operations did not finish at shutdown; \
                 leaking their buffers",
                self.slots.len()
            );
            std::mem::forget(std::mem::take(&mut self.slots));
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
        }
    }
}
