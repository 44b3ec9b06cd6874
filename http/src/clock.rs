//! A cheap monotonic clock in milliseconds for connection deadlines.

use std::time::Duration;

/// Milliseconds on `CLOCK_MONOTONIC_COARSE`: a vDSO read of a few nanoseconds, with the
/// kernel tick's granularity (1–4 ms), which is plenty for timeouts of seconds.
pub(crate) fn now_ms() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    match clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE) {
        Ok(ts) => (ts.tv_sec() as u64) * 1000 + (ts.tv_nsec() as u64) / 1_000_000,
        Err(_) => 0,
    }
}

/// `now + d` in the same unit, saturating.
pub(crate) fn deadline_after(d: Duration) -> u64 {
    now_ms().saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
