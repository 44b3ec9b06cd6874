//! A core's lag: how long its thread waited for a CPU while runnable, from the kernel's
//! scheduler statistics (`/proc/thread-self/schedstat`: time on the CPU, time waiting on
//! a run queue, and the number of times it was put on a CPU).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use super::monotonic_ns;

/// Samples the calling thread's run-queue waits. Create and use it on the thread it
/// measures (the file names that thread when it is opened).
#[derive(Debug)]
pub struct RunDelay {
    /// `None` where the kernel does not keep scheduler statistics.
    file: Option<File>,
    /// Waiting time and runs at the last sample.
    last: (u64, u64),
    /// When the last sample was taken (`CLOCK_MONOTONIC` nanoseconds).
    last_at: u64,
}

impl RunDelay {
    /// Samples no more often than this: each sample reads a file.
    pub const EVERY: Duration = Duration::from_millis(1);

    /// Starts sampling the calling thread. Where the kernel keeps no scheduler
    /// statistics, every sample is `None`.
    pub fn for_this_thread() -> RunDelay {
        let file = File::open("/proc/thread-self/schedstat").ok();
        let mut this = RunDelay {
            file,
            last: (0, 0),
            last_at: 0,
        };
        this.last = this.read().unwrap_or((0, 0));
        this.last_at = monotonic_ns();
        this
    }

    /// The average wait for a CPU per time the thread was put on one, since the last
    /// sample; `None` within [`EVERY`](Self::EVERY) of it or without statistics. An
    /// average per run, not a sum, so a thread that woke many times for short waits
    /// reads as little lag, and one that waited once for long reads as that wait.
    pub fn sample(&mut self) -> Option<Duration> {
        let now = monotonic_ns();
        if now.saturating_sub(self.last_at) < Self::EVERY.as_nanos() as u64 {
            return None;
        }
        let (waited, runs) = self.read()?;
        let (last_waited, last_runs) = std::mem::replace(&mut self.last, (waited, runs));
        self.last_at = now;
        let runs = runs.saturating_sub(last_runs).max(1);
        Some(Duration::from_nanos(
            waited.saturating_sub(last_waited) / runs,
        ))
    }

    /// Reads the waiting time (ns) and the number of runs.
    fn read(&self) -> Option<(u64, u64)> {
        let mut buf = [0u8; 96];
        let n = self.file.as_ref()?.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let mut fields = text.split_ascii_whitespace().skip(1);
        let waited = fields.next()?.parse().ok()?;
        let runs = fields.next()?.parse().ok()?;
        Some((waited, runs))
    }
}

/// A remembered lag `lag_ns` measured `age_ns` ago: halved once per `2^shift` ns.
pub(super) fn decayed(lag_ns: u64, age_ns: u64, shift: u32) -> u64 {
    lag_ns >> (age_ns >> shift).min(63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_lag_halves_per_period() {
        assert_eq!(decayed(1000, 0, 4), 1000);
        assert_eq!(decayed(1000, 15, 4), 1000);
        assert_eq!(decayed(1000, 16, 4), 500);
        assert_eq!(decayed(1000, 16 * 3, 4), 125);
        assert_eq!(decayed(1000, u64::MAX, 4), 0);
    }

    #[test]
    fn samples_at_most_once_per_period() {
        let mut delay = RunDelay::for_this_thread();
        if delay.file.is_none() {
            return; // (a kernel without scheduler statistics: nothing to sample)
        }
        std::thread::sleep(RunDelay::EVERY * 2);
        let at = std::time::Instant::now();
        assert!(delay.sample().is_some());
        let again = delay.sample();
        // (Unless this thread was preempted for a whole period in between.)
        if at.elapsed() < RunDelay::EVERY {
            assert!(again.is_none());
        }
    }
}
