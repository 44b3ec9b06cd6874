//! What a reader gets: copies of every core's histograms and counters, merged on demand.

use std::time::{Duration, SystemTime};

use coreline_runtime::metrics::{ListenCounters, LoopHistograms};
use coreline_runtime::{BufRingStats, CoreStats};
use hdrhistogram::Histogram;

use super::counters::{RefusalCounts, ResponseCounts};

/// Highest latency tracked, in microseconds (one minute; larger values count as one minute).
const MAX_US: u64 = 60_000_000;
/// Highest accept-queue depth tracked.
const MAX_DEPTH: u64 = 1 << 20;
/// Significant digits: 1 % precision, a few KiB per histogram (as the runtime's).
const SIGFIG: u8 = 2;

/// The HTTP server's histograms of one core (or of several, added together).
#[derive(Debug, Clone)]
pub struct HttpHistograms {
    /// From accept to the first byte of the connection's first request, in µs (one sample
    /// per connection that sent anything).
    pub accept_to_first_byte_us: Histogram<u64>,
    /// How long a complete request waited before its handler started, in µs: from when
    /// its last bytes arrived (the reap of their receive, even if the connection read
    /// them later) to the handler's start. Behind a slow pipelined request on the same
    /// connection this is that request's time.
    pub queue_wait_us: Histogram<u64>,
    /// Service time in µs: from the arrival of a request's first byte to the send
    /// completion of its response's last byte (handed to the kernel; not acknowledged by
    /// the client).
    pub service_us: Histogram<u64>,
    /// Depth of the core's accept queue(s), sampled every
    /// [`SAMPLE_PERIOD`](super::SAMPLE_PERIOD) from `TCP_INFO` (one sample per listener
    /// per period).
    pub accept_queue_depth: Histogram<u64>,
}

fn hist(max: u64) -> Histogram<u64> {
    Histogram::new_with_bounds(1, max, SIGFIG).expect("static histogram bounds are valid")
}

/// An empty accept-queue depth histogram (the bounds of `accept_queue_depth`).
pub(crate) fn depth_histogram() -> Histogram<u64> {
    hist(MAX_DEPTH)
}

impl HttpHistograms {
    /// Empty histograms with the bounds every core uses (so that they can be added).
    pub fn new() -> Self {
        HttpHistograms {
            accept_to_first_byte_us: hist(MAX_US),
            queue_wait_us: hist(MAX_US),
            service_us: hist(MAX_US),
            accept_queue_depth: depth_histogram(),
        }
    }

    /// Adds every sample of `other` into `self`.
    pub fn add(&mut self, other: &HttpHistograms) {
        // Same bounds everywhere: add cannot fail.
        let _ = self
            .accept_to_first_byte_us
            .add(&other.accept_to_first_byte_us);
        let _ = self.queue_wait_us.add(&other.queue_wait_us);
        let _ = self.service_us.add(&other.service_us);
        let _ = self.accept_queue_depth.add(&other.accept_queue_depth);
    }
}

impl Default for HttpHistograms {
    fn default() -> Self {
        Self::new()
    }
}

/// Records `n` samples of `value`, clamped to the histogram's range.
#[inline]
pub(crate) fn record_n(h: &mut Histogram<u64>, value: u64, n: u64) {
    let _ = h.record_n(value.min(h.high()), n);
}

/// A copy of one core's metrics.
#[derive(Debug, Clone)]
pub struct CoreSnapshot {
    /// The core's index in the runtime.
    pub index: usize,
    /// The CPU it is pinned to.
    pub cpu: usize,
    /// Requests whose handler started.
    pub requests: u64,
    /// Connections accepted.
    pub connections_accepted: u64,
    /// Of those, connections accepted from another core's listener while that core
    /// lagged (`steered` mode).
    pub connections_taken_over: u64,
    /// Connections this core accepted while it lagged and handed to another core, which
    /// counts them as its own accepted ones (`steered` mode).
    pub connections_handed_off: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// The accept queue's limit as the kernel reports it (largest over the core's
    /// listeners; 0 before the first sample).
    pub listen_backlog: u32,
    /// Responses by status class and kind.
    pub responses: ResponseCounts,
    /// Refused connections and requests by reason.
    pub refusals: RefusalCounts,
    /// Bytes of upstream response bodies spliced to clients (the proxy's zero-copy path).
    pub proxy_spliced_bytes: u64,
    /// The HTTP histograms.
    pub http: HttpHistograms,
    /// The runtime's loop histograms (completions per enter, loop lag).
    pub runtime: LoopHistograms,
    /// The core's provided-buffer ring.
    pub buffers: BufRingStats,
    /// Operations in flight, tasks and timers.
    pub stats: CoreStats,
}

/// Every core's metrics, from
/// [`ServerHandle::metrics_snapshot`](crate::ServerHandle::metrics_snapshot).
#[derive(Debug, Clone)]
pub struct MetricsSnapshot {
    /// When the server started (wall clock, for interval logs).
    pub started: SystemTime,
    /// How long it has run when the snapshot was taken.
    pub uptime: Duration,
    /// One entry per core, in core order.
    pub cores: Vec<CoreSnapshot>,
    /// The kernel's listen counters since the server started (namespace-wide, so other
    /// listeners in the same network namespace count too); `None` if unreadable.
    pub listen: Option<ListenCounters>,
}

impl MetricsSnapshot {
    /// All cores' HTTP histograms added together.
    pub fn merged_http(&self) -> HttpHistograms {
        let mut total = HttpHistograms::new();
        for c in &self.cores {
            total.add(&c.http);
        }
        total
    }

    /// All cores' runtime histograms added together.
    pub fn merged_runtime(&self) -> LoopHistograms {
        let mut total = LoopHistograms::new();
        for c in &self.cores {
            total.add(&c.runtime);
        }
        total
    }

    /// Requests on all cores.
    pub fn requests(&self) -> u64 {
        self.cores.iter().map(|c| c.requests).sum()
    }
}
