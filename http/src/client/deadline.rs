//! [`Deadline`]: the one timer of a connection's waits (each send, each wait for response
//! bytes), moved later without touching the core's timer map. Registering and removing a
//! timer is an ordered-map insert and removal; a connection that waits every request would
//! do both twice per exchange. Here the timer stays registered at an earlier deadline
//! while later ones are only recorded; when it fires early it is re-armed at the latest.
//! Polling the timer looks its entry up in the core's timer map: a wait of the task whose
//! waker the timer already holds only reads the clock (a pooled connection serves many
//! tasks, so the waker is checked).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use coreline_runtime::time::{self, Sleep};

/// A deadline that may move; see the module doc.
#[derive(Debug, Default)]
pub(super) struct Deadline {
    /// Armed at or before `until` (`None` until the first wait).
    sleep: Option<Sleep>,
    until: Option<Instant>,
    /// The waker `sleep` was last polled with: the one its firing wakes.
    registered: Option<Waker>,
}

impl Deadline {
    /// The next wait ends in an error `timeout` from now.
    pub(super) fn start(&mut self, timeout: Duration) {
        let until = Instant::now() + timeout;
        self.until = Some(until);
        match &mut self.sleep {
            // Armed too late for this wait: re-arm.
            Some(sleep) if sleep.deadline() > until => {
                sleep.reset(until);
                self.registered = None;
            }
            // Armed earlier: it fires, and `poll_elapsed` re-arms it then.
            Some(_) => {}
            None => self.sleep = Some(time::sleep_until(until)),
        }
    }

    /// Ready once the time given to the last [`start`](Self::start) has passed; never
    /// before a `start`.
    pub(super) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let (Some(sleep), Some(until)) = (&mut self.sleep, self.until) else {
            return Poll::Pending;
        };
        let mut holds_this_waker = self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if holds_this_waker && Instant::now() < sleep.deadline() {
            return Poll::Pending;
        }
        loop {
            if Pin::new(&mut *sleep).poll(cx).is_pending() {
                if !holds_this_waker {
                    self.registered = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            self.registered = None;
            holds_this_waker = false;
            if sleep.deadline() >= until {
                return Poll::Ready(());
            }
            sleep.reset(until);
        }
    }
}
