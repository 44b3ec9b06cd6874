//! Minimum data rates (as Kestrel's `MinRequestBodyDataRate` and `MinResponseDataRate`):
//! a request body must arrive, and a response must be taken, at a least number of bytes
//! per second once a grace period has passed.
//!
//! A [`RateClock`] counts the bytes moved and the time spent waiting on the client for
//! them (time the handler or the disk takes does not count against the client). The
//! check "bytes ≥ rate × (waited − grace)" becomes a deadline for the current wait:
//! the moment the waited time would pass `grace + bytes / rate`. That deadline is a plain
//! number in the connection, like every other connection deadline, so the core's sweeper
//! enforces it and no timer is set per request.

use std::time::Duration;

/// No wait in progress.
const NOT_WAITING: u64 = u64::MAX;

/// Bytes moved and time waited for them, for one body or one response.
#[derive(Debug, Clone, Copy)]
pub(super) struct RateClock {
    bytes: u64,
    waited_ms: u64,
    /// When the current wait began (`clock::now_ms`), or `NOT_WAITING`.
    wait_from: u64,
}

impl Default for RateClock {
    fn default() -> Self {
        RateClock {
            bytes: 0,
            waited_ms: 0,
            wait_from: NOT_WAITING,
        }
    }
}

impl RateClock {
    /// A wait for the client begins at `now`; returns when it must end for the moved
    /// bytes plus `ahead` (bytes that the wait will move all at once) to keep up with
    /// `rate` bytes per second after `grace`, or `u64::MAX` if `rate` is 0.
    pub(super) fn begin_wait(&mut self, now: u64, rate: u32, grace: Duration, ahead: u64) -> u64 {
        self.wait_from = now;
        if rate == 0 {
            return u64::MAX;
        }
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        let earned_ms = self.bytes.saturating_add(ahead).saturating_mul(1000) / u64::from(rate);
        let allowed = grace_ms
            .saturating_add(earned_ms)
            .saturating_sub(self.waited_ms);
        now.saturating_add(allowed)
    }

    /// `bytes` more were moved at `now`; a wait in progress ends.
    pub(super) fn moved(&mut self, now: u64, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.wait_from != NOT_WAITING {
            self.waited_ms += now.saturating_sub(self.wait_from);
            self.wait_from = NOT_WAITING;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(5);

    #[test]
    fn the_grace_comes_first_then_bytes_earn_time() {
        let mut c = RateClock::default();
        assert_eq!(c.begin_wait(1000, 240, GRACE, 0), 6000);
        c.moved(3000, 240); // one second's worth, after waiting 2 s
                            // 5 s grace + 1 s earned − 2 s waited = 4 s from now.
        assert_eq!(c.begin_wait(3000, 240, GRACE, 0), 7000);
    }

    #[test]
    fn time_not_spent_waiting_is_not_counted() {
        let mut c = RateClock::default();
        c.begin_wait(0, 240, GRACE, 0);
        c.moved(1000, 0);
        c.moved(50_000, 100); // no wait in progress: bytes only
        assert_eq!(c.begin_wait(60_000, 240, GRACE, 0), 60_000 + 4000 + 416);
    }

    #[test]
    fn a_trickle_falls_behind() {
        // One byte every 2 s: each byte earns ~4 ms, each wait costs 2 s.
        let mut c = RateClock::default();
        let mut now = 0;
        let mut deadline = c.begin_wait(now, 240, GRACE, 0);
        while now + 2000 < deadline {
            now += 2000;
            c.moved(now, 1);
            deadline = c.begin_wait(now, 240, GRACE, 0);
        }
        assert!(deadline < 5100, "cut at {deadline} ms");
    }

    #[test]
    fn rate_zero_is_off() {
        let mut c = RateClock::default();
        assert_eq!(c.begin_wait(5, 0, GRACE, 0), u64::MAX);
    }
}
