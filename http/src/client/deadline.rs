//! [`Deadline`]: the one timer of a connection's waits (each send, each wait for response
//! bytes), moved later without touching the core's timer map. Registering and removing a
//! timer is an ordered-map insert and removal; a connection that waits every request would
//! do both twice per exchange. Here the timer stays registered at an earlier deadline
//! while later ones are only recorded; when it fires early it is re-armed at the latest.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use coreline_runtime::time::{self, Sleep};

/// A deadline that may move; see the module doc.
#[derive(Debug, Default)]
pub(super) struct Deadline {
    /// Armed at or before `until` (`None` until the first wait).
    sleep: Option<Sleep>,
    until: Option<Instant>,
}

impl Deadline {
    /// The next wait ends in an error `timeout` from now.
    pub(super) fn start(&mut self, timeout: Duration) {
        let until = Instant::now() + timeout;
        self.until = Some(until);
        match &mut self.sleep {
            // Armed too late for this wait: re-arm.
            Some(sleep) if sleep.deadline() > until => sleep.reset(until),
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
        loop {
            ready!(Pin::new(&mut *sleep).poll(cx));
            if sleep.deadline() >= until {
                return Poll::Ready(());
            }
            sleep.reset(until);
        }
    }
}
