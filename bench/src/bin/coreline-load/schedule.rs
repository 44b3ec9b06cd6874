//! The run's timing: one start instant shared by every core, the end, the drain, and for
//! the open loop each connection's fixed request schedule.
//!
//! Open loop (`-R RATE`): the run's requests are due every `1/RATE` s, dealt round-robin to
//! the connections, so connection `g` of `C` has requests due at `start + g/RATE + k·C/RATE`.
//! A request's latency is measured from when it was *due*, not from when it could be sent:
//! when the server stalls, the requests that pile up behind the stall carry the wait in
//! their latency (wrk2's correction for coordinated omission). Without it, a closed-loop
//! client that stops sending during a stall records only one slow request per connection.

use std::time::{Duration, Instant};

/// Longest time spent after the end waiting for responses still outstanding.
pub const MAX_DRAIN: Duration = Duration::from_secs(2);

/// How long a connection waits after a failed connect before trying again (so an absent
/// server is not hammered in a tight loop).
pub const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// The timing every connection follows.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// When every core starts sending (a moment after the threads have started).
    pub start: Instant,
    /// When measuring starts: `start`, or the end of the warm-up.
    pub measure_from: Instant,
    /// No request is started (or due) at or after this.
    pub end: Instant,
    /// Responses still outstanding at this time are abandoned.
    pub drain_end: Instant,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests kept outstanding per connection.
    pub pipeline: usize,
    /// A new connection per request.
    pub close: bool,
    /// Open loop: the time between two requests of one connection.
    pub period: Option<Duration>,
    /// Open loop: the time between two requests of the whole run.
    pub spacing: Option<Duration>,
}

impl Plan {
    /// A plan starting at `start` for `duration`, with `rate` requests/s in total over
    /// `connections` (open loop) or as fast as possible (`None`).
    pub fn new(
        start: Instant,
        duration: Duration,
        rate: Option<f64>,
        connections: usize,
        timeout: Duration,
        pipeline: usize,
        close: bool,
    ) -> Plan {
        let end = start + duration;
        Plan {
            start,
            measure_from: start,
            end,
            drain_end: end + timeout.min(MAX_DRAIN),
            timeout,
            pipeline,
            close,
            period: rate.map(|r| Duration::from_secs_f64(connections as f64 / r)),
            spacing: rate.map(|r| Duration::from_secs_f64(1.0 / r)),
        }
    }

    /// The same plan with `warmup` of unmeasured load first (the measured part keeps its
    /// length).
    pub fn with_warmup(self, warmup: Duration) -> Plan {
        Plan {
            measure_from: self.start + warmup,
            end: self.end + warmup,
            drain_end: self.drain_end + warmup,
            ..self
        }
    }

    /// When connection `global_index`'s first request is due (open loop).
    pub fn first_due(&self, global_index: usize) -> Instant {
        match self.spacing {
            Some(s) => self.start + s * global_index as u32,
            None => self.start,
        }
    }
}

impl Plan {
    /// Open loop: how many requests fall due in the measured part over `connections`
    /// connections (what a run that keeps up completes).
    pub fn due_count(&self, connections: usize) -> Option<u64> {
        let all = self.due_before(self.end, connections)?;
        Some(all - self.due_before(self.measure_from, connections)?)
    }

    /// Open loop: how many requests fall due from the start until `until`.
    fn due_before(&self, until: Instant, connections: usize) -> Option<u64> {
        let period = self.period?;
        let length = until - self.start;
        let mut due = 0;
        for g in 0..connections {
            let first = self.first_due(g) - self.start;
            if first < length {
                due += ((length - first).as_nanos()).div_ceil(period.as_nanos()) as u64;
            }
        }
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_loop_deals_requests_evenly() {
        let start = Instant::now();
        let plan = Plan::new(
            start,
            Duration::from_secs(2),
            Some(200.0),
            4,
            Duration::from_secs(10),
            1,
            false,
        );
        let mut due: Vec<Duration> = Vec::new();
        for g in 0..4 {
            let mut t = plan.first_due(g);
            while t < plan.end {
                due.push(t - start);
                t += plan.period.unwrap();
            }
        }
        due.sort();
        assert_eq!(due.len(), 400, "200/s for 2 s");
        assert_eq!(plan.due_count(4), Some(400));
        for pair in due.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap.abs_diff(Duration::from_millis(5)) < Duration::from_micros(10));
        }
        assert_eq!(plan.drain_end - plan.end, MAX_DRAIN);
        let warm = plan.with_warmup(Duration::from_secs(1));
        assert_eq!(
            warm.due_count(4),
            Some(400),
            "the measured part keeps its length"
        );
        assert_eq!(warm.end - warm.measure_from, Duration::from_secs(2));
    }
}
