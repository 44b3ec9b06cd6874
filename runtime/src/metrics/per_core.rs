//! The metrics one core owns and its loop writes on every iteration.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;

/// Period of the core loop's own lag-measuring tick.
pub const TICK: Duration = Duration::from_millis(10);

/// Highest completions-per-enter value tracked exactly (larger values saturate).
const MAX_COMPLETIONS: u64 = 1 << 20;
/// Highest lag tracked, in microseconds (one minute; larger values saturate).
const MAX_LAG_US: u64 = 60_000_000;
/// Significant digits: 1 % precision keeps each histogram at a few KiB.
const SIGFIG: u8 = 2;

/// The histograms the core loop records.
#[derive(Debug, Clone)]
pub struct LoopHistograms {
    /// Completions reaped per `io_uring_enter` (one sample per core-loop iteration).
    pub completions_per_enter: Histogram<u64>,
    /// How late the core loop noticed its periodic [`TICK`], in microseconds
    /// (one sample per tick).
    pub loop_lag_us: Histogram<u64>,
    /// With [`Builder::rx_timestamps`](crate::Builder::rx_timestamps): how long received
    /// data waited from the kernel's receive timestamp to the reap of its completion, in
    /// microseconds (one sample per stamped chunk; empty when off).
    pub rx_kernel_to_reap_us: Histogram<u64>,
}

impl LoopHistograms {
    /// Empty histograms with the bounds every core uses (so that they can be added).
    pub fn new() -> Self {
        let hist = |max| {
            Histogram::new_with_bounds(1, max, SIGFIG).expect("static histogram bounds are valid")
        };
        LoopHistograms {
            completions_per_enter: hist(MAX_COMPLETIONS),
            loop_lag_us: hist(MAX_LAG_US),
            rx_kernel_to_reap_us: hist(MAX_LAG_US),
        }
    }

    /// Adds every sample of `other` into `self`.
    pub fn add(&mut self, other: &LoopHistograms) {
        // Same bounds on every core: add cannot fail; saturate rather than panic anyway.
        let _ = self.completions_per_enter.add(&other.completions_per_enter);
        let _ = self.loop_lag_us.add(&other.loop_lag_us);
        let _ = self.rx_kernel_to_reap_us.add(&other.rx_kernel_to_reap_us);
    }
}

impl Default for LoopHistograms {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    /// See [`loop_clock_us`]. Written once per loop iteration by the core's thread.
    static LOOP_CLOCK_US: Cell<u64> = const { Cell::new(0) };
}

/// A cheap clock for per-request timestamps: microseconds since this core started, read
/// once per loop iteration right after `io_uring_enter` returned, just before the
/// completions being handled now were reaped (each multishot receive chunk keeps the
/// value of its own reap: [`RecvBuf::reaped_at_us`](crate::RecvBuf::reaped_at_us)). One thread-local read, no system call;
/// its resolution is one loop iteration (work done within one iteration reads the same
/// value). 0 when [`Builder::metrics`](crate::Builder::metrics) is off and outside a
/// runtime thread. Values of different cores are not comparable.
#[inline]
pub fn loop_clock_us() -> u64 {
    LOOP_CLOCK_US.with(Cell::get)
}

/// One core's metrics state. Lives in the core, behind its thread-local; never shared.
pub(crate) struct CoreMetrics {
    enabled: bool,
    /// Receive timestamps on (and `enabled`): also read the realtime clock per iteration.
    rx_timestamps: bool,
    pub(crate) hist: LoopHistograms,
    next_tick: Instant,
    /// When the last enter that could block returned.
    woke_at: Instant,
    /// Origin of [`loop_clock_us`] on this core.
    started: Instant,
    /// With receive timestamps: realtime (ns since the epoch) at loop clock 0, taken at
    /// the last enter; 0 while unknown.
    realtime_origin_ns: u64,
}

impl CoreMetrics {
    /// Called on the core's thread (resets the loop clock a former core may have left).
    pub(crate) fn new(enabled: bool, rx_timestamps: bool) -> Self {
        LOOP_CLOCK_US.with(|c| c.set(0));
        CoreMetrics {
            enabled,
            rx_timestamps: enabled && rx_timestamps,
            hist: LoopHistograms::new(),
            next_tick: Instant::now() + TICK,
            woke_at: Instant::now(),
            started: Instant::now(),
            realtime_origin_ns: 0,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Called once per loop iteration with the loop's `now`: records the lag of a due tick.
    ///
    /// The tick does not bound the ring wait (a timeout on every blocking enter cost ~4 %
    /// CPU per request in the `ceiling` benchmark). Instead, a tick that fell due while the
    /// core slept in the kernel counts from when the core woke: an idle core is not late.
    #[inline]
    pub(crate) fn on_loop(&mut self, now: Instant) {
        if !self.enabled {
            return;
        }
        if now >= self.next_tick {
            let lag = now.duration_since(self.next_tick.max(self.woke_at));
            let lag_us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
            self.hist.loop_lag_us.saturating_record(lag_us);
            // Next tick one period after this one; skip ticks missed while blocked.
            self.next_tick += TICK;
            if self.next_tick <= now {
                self.next_tick = now + TICK;
            }
        }
    }

    /// Called right after `io_uring_enter` returned, before its completions are reaped:
    /// sets [`loop_clock_us`] (so the reap can stamp each completion with it) and, if that
    /// enter could block (`waited`), notes the wake-up time (see [`Self::on_loop`]).
    #[inline]
    pub(crate) fn on_enter(&mut self, waited: bool) {
        if self.enabled {
            let now = Instant::now();
            if waited {
                self.woke_at = now;
            }
            let us = now.duration_since(self.started).as_micros() as u64;
            // Never 0 while on: 0 means "no clock" to readers.
            LOOP_CLOCK_US.with(|c| c.set(us.max(1)));
            if self.rx_timestamps {
                self.realtime_origin_ns = realtime_at_loop_zero_ns(us.max(1));
            }
        }
    }

    /// Realtime (ns since the epoch) at loop clock 0, for receive timestamps (0: unknown).
    #[inline]
    pub(crate) fn realtime_origin_ns(&self) -> u64 {
        self.realtime_origin_ns
    }

    /// Records one chunk's wait from its kernel receive timestamp to its reap.
    #[inline]
    pub(crate) fn record_rx_delay(&mut self, us: u64) {
        self.hist.rx_kernel_to_reap_us.saturating_record(us);
    }

    /// Records how many completions the reap after [`Self::on_enter`] produced.
    #[inline]
    pub(crate) fn on_reaped(&mut self, reaped: usize) {
        if self.enabled {
            self.hist
                .completions_per_enter
                .saturating_record(reaped as u64);
        }
    }
}

/// Realtime (ns since the epoch) at loop clock 0, given that the loop clock reads `loop_us`
/// now: what turns a kernel receive timestamp (realtime) into loop clock terms.
fn realtime_at_loop_zero_ns(loop_us: u64) -> u64 {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now.saturating_sub(loop_us * 1000)
}
