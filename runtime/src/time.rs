//! Timers: one ordered map per core whose earliest deadline bounds the ring wait.
//!
//! A `BTreeMap` keyed by (deadline, sequence) gives ordered expiry, O(log n) insert and
//! removal, and the next deadline in O(log n). Expired entries are woken by the core loop
//! before it enters the ring; the wait timeout is the time to the next deadline.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::context::with_core;

/// The timers of one core.
#[derive(Default)]
pub(crate) struct Timers {
    entries: BTreeMap<(Instant, u64), Waker>,
    next_seq: u64,
}

impl Timers {
    fn insert(&mut self, deadline: Instant, waker: Waker) -> u64 {
        self.next_seq += 1;
        self.entries.insert((deadline, self.next_seq), waker);
        self.next_seq
    }

    fn update(&mut self, key: (Instant, u64), waker: &Waker) {
        if let Some(w) = self.entries.get_mut(&key) {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
        }
    }

    fn remove(&mut self, key: (Instant, u64)) {
        self.entries.remove(&key);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.keys().next().map(|(d, _)| *d)
    }

    /// Removes and returns the wakers of every timer due at `now`.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        due
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Completes at a deadline. Created by [`sleep`] and [`sleep_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    registered: Option<(Instant, u64)>,
}

impl Sleep {
    /// When this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (re-registering the timer on the next poll).
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = deadline;
    }

    fn unregister(&mut self) {
        if let Some(key) = self.registered.take() {
            // try_: a Sleep may be dropped after its core shut down.
            let _ = crate::context::try_with_core(|core| core.timers.borrow_mut().remove(key));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.unregister();
            return Poll::Ready(());
        }
        let deadline = self.deadline;
        let registered = self.registered;
        let key = with_core(|core| {
            let mut timers = core.timers.borrow_mut();
            match registered {
                Some(key) => {
                    timers.update(key, cx.waker());
                    key
                }
                None => (deadline, timers.insert(deadline, cx.waker().clone())),
            }
        });
        self.registered = Some(key);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// Sleeps for `duration` on the current core's timers.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Sleeps until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        registered: None,
    }
}

/// The error of [`timeout`] when the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline elapsed")
    }
}

/// Runs `future` with a deadline; dropping it on expiry cancels its in-flight I/O.
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is never moved out of the pinned Timeout (structural pinning);
        // `sleep` is Unpin and may be used through a plain &mut.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` stays where it is until Timeout is dropped.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Awaits `future` for at most `duration`.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Ticks at a fixed period; a late tick does not shift later ones (no drift), and ticks
/// missed while the task was busy are skipped rather than burst.
#[derive(Debug)]
pub struct Interval {
    next: Instant,
    period: Duration,
    sleep: Sleep,
}

/// An [`Interval`] whose first tick is one `period` from now.
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "coreline: interval period must be non-zero"
    );
    let next = Instant::now() + period;
    Interval {
        next,
        period,
        sleep: sleep_until(next),
    }
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        (&mut self.sleep).await;
        let due = self.next;
        let now = Instant::now();
        self.next += self.period;
        if self.next <= now {
            // Skip missed ticks.
            let behind = now.duration_since(self.next).as_nanos() / self.period.as_nanos() + 1;
            self.next += self.period * behind as u32;
        }
        self.sleep.reset(self.next);
        due
    }
}
