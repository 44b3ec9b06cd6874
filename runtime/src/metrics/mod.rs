//! Per-core runtime metrics: HdrHistograms of the core loop, recorded without locks or
//! atomics (each core writes only its own data) and merged across cores on read; plus the
//! accept-queue probes of a listener ([`QueueInfo`](crate::net::QueueInfo)) and the
//! kernel's listen counters ([`ListenCounters`]).
//!
//! Recorded per core, when [`Builder::metrics`](crate::Builder::metrics) is on (the default):
//! - completions reaped per `io_uring_enter` (one histogram record per loop iteration);
//! - event-loop lag: the core loop keeps a [`TICK`] period deadline of its own (no task,
//!   no timer entry) and records how many microseconds late it noticed each tick, counted
//!   from the later of the tick and the core's last wake-up from the ring (a tick that fell
//!   due while the core slept idle is not late). A task that blocks the core shows up here
//!   as lag. An idle core takes no samples (the tick never wakes it);
//! - [`loop_clock_us`]: the time of the last reap, one clock read per loop iteration, for
//!   layers above (the HTTP server) that timestamp requests without a system call each;
//! - with [`Builder::rx_timestamps`](crate::Builder::rx_timestamps) (off by default): the
//!   wait of received data from the kernel's software receive timestamp to the reap of
//!   its completion (`rx_kernel_to_reap_us`), i.e. how long packets sat while the core
//!   was busy before it entered the ring.

mod netstat;
mod per_core;
mod snapshot;

pub use netstat::ListenCounters;
pub(crate) use per_core::CoreMetrics;
pub use per_core::{loop_clock_us, LoopHistograms, TICK};
pub use snapshot::{local_snapshot, CoreMetricsSnapshot, MetricsSnapshot};
