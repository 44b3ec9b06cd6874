//! Latency histograms that show where requests queue, per core, and how to read them.
//!
//! Off by default; [`Builder::metrics`](crate::Builder::metrics) turns them on (and the
//! runtime's loop metrics with them). Each core records into its own HdrHistograms (plain
//! cells, no locks or atomics on the request path); a reader gets every core's copy
//! through the runtime's cross-core queue, merged on demand
//! ([`ServerHandle::metrics_snapshot`](crate::ServerHandle::metrics_snapshot)).
//!
//! Recorded (see [`HttpHistograms`] for the exact definitions):
//! - accept → first request byte, per connection;
//! - queue wait: a complete request's wait for its handler (behind earlier pipelined
//!   requests on its connection);
//! - service time: first byte arrived → send completion of the response's last byte;
//! - accept-queue depth of every listener, every [`SAMPLE_PERIOD`] from `TCP_INFO`, read by
//!   a thread of its own (a busy core cannot sample its own queue);
//! - with [`Builder::rx_timestamps`](crate::Builder::rx_timestamps) (off by default):
//!   kernel receive timestamp → reap of the receive's completion (`rx_wait`);
//! - counters: requests, connections accepted and open; responses by status class and
//!   [`ResponseKind`]; refusals by [`Refusal`] (connection limit, request timeouts and
//!   parse refusals, failed TLS handshakes); the kernel's listen counters as deltas since
//!   the start; the runtime's loop histograms and ring occupancy.
//!
//! Timestamps come from the runtime's [`loop_clock_us`](coreline_runtime::metrics::loop_clock_us):
//! one clock read per loop iteration, taken when completions are reaped, so no request
//! pays for a system call. Received bytes carry the stamp of the reap that delivered them
//! ([`RecvBuf::reaped_at_us`](coreline_runtime::RecvBuf::reaped_at_us)), so bytes that
//! queue while a handler runs count from their arrival, not from when they are read. Its resolution is one loop iteration: work within one iteration
//! (a pipelined batch answered without waiting) reads as 0 µs of queueing.
//!
//! Exported as Prometheus text ([`prometheus_text`]: histograms with fixed buckets per
//! core, [`bucket_bounds`]), a per-core percentile table
//! ([`latency_table`]), each core's share of the connections read back from the text
//! ([`split_from_prometheus`]), HdrHistogram interval logs ([`write_interval_log`]), all served by
//! [`MetricsAdmin`], the handler of an admin listener (which gathers one snapshot at a
//! time and reuses it for a second, however many clients scrape).

mod admin;
mod buckets;
mod collect;
mod core;
mod counters;
mod hlog;
mod parse;
mod prometheus;
mod sampler;
mod scrape;
mod series;
mod snapshot;
mod split;
mod table;

pub use self::admin::MetricsAdmin;
pub use self::buckets::bounds as bucket_bounds;
pub(crate) use self::collect::{block_on, RunMetrics};
pub(crate) use self::core::CoreHttpMetrics;
pub use self::counters::{Refusal, RefusalCounts, ResponseCounts, ResponseKind, STATUS_CLASSES};
pub use self::hlog::write_interval_log;
pub use self::parse::{printable, rows_from_prometheus};
pub use self::prometheus::prometheus_text;
pub(crate) use self::sampler::ProbeGuard;
pub use self::sampler::SAMPLE_PERIOD;
pub use self::snapshot::{CoreSnapshot, HttpHistograms, MetricsSnapshot};
pub use self::split::{render_split, split_from_prometheus, CoreSplit};
pub use self::table::{latency_rows, latency_table, render_table, LatencyRow};
