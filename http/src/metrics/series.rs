//! The histograms every export shows, in one list: name, unit, help, and where each
//! core's (and the merged) histogram comes from.

use hdrhistogram::Histogram;

use super::snapshot::MetricsSnapshot;

/// One histogram kind.
pub(crate) struct Spec {
    /// Short name: table rows, interval-log tags, `coreline stats`.
    pub(crate) short: &'static str,
    /// Prometheus family name.
    pub(crate) prom: &'static str,
    /// Whether values are microseconds (exported as seconds); otherwise plain counts.
    pub(crate) micros: bool,
    pub(crate) help: &'static str,
}

pub(crate) const SPECS: [Spec; 7] = [
    Spec {
        short: "first_byte",
        prom: "coreline_http_accept_to_first_byte_seconds",
        micros: true,
        help: "Time from accept to the first byte of a connection's first request.",
    },
    Spec {
        short: "queue_wait",
        prom: "coreline_http_queue_wait_seconds",
        micros: true,
        help: "Time a complete request waited for its handler (behind earlier pipelined requests).",
    },
    Spec {
        short: "service",
        prom: "coreline_http_service_seconds",
        micros: true,
        help: "Time from the arrival of a request's first byte to the send completion of its response.",
    },
    Spec {
        short: "accept_queue",
        prom: "coreline_accept_queue_depth",
        micros: false,
        help: "Accept-queue depth of the core's listeners, sampled every 100 ms (TCP_INFO).",
    },
    Spec {
        short: "loop_lag",
        prom: "coreline_loop_lag_seconds",
        micros: true,
        help: "How late the core loop noticed its 10 ms tick.",
    },
    Spec {
        short: "completions",
        prom: "coreline_completions_per_enter",
        micros: false,
        help: "Completions reaped per io_uring_enter.",
    },
    Spec {
        short: "rx_wait",
        prom: "coreline_rx_kernel_to_reap_seconds",
        micros: true,
        help: "Time from the kernel's receive timestamp of received data to the reap of its completion (only with receive timestamps on).",
    },
];

/// One histogram of one core (`core` = its index, or "all" for the merged one).
pub(crate) struct Series {
    pub(crate) spec: &'static Spec,
    pub(crate) core: String,
    pub(crate) hist: Histogram<u64>,
}

/// Every histogram of `snap`, grouped by kind: each core's, then the merged one.
pub(crate) fn series(snap: &MetricsSnapshot) -> Vec<Series> {
    let (http, runtime) = (snap.merged_http(), snap.merged_runtime());
    let mut out = Vec::new();
    for (i, spec) in SPECS.iter().enumerate() {
        let pick =
            |h: &super::HttpHistograms, r: &coreline_runtime::metrics::LoopHistograms| match i {
                0 => h.accept_to_first_byte_us.clone(),
                1 => h.queue_wait_us.clone(),
                2 => h.service_us.clone(),
                3 => h.accept_queue_depth.clone(),
                4 => r.loop_lag_us.clone(),
                5 => r.completions_per_enter.clone(),
                _ => r.rx_kernel_to_reap_us.clone(),
            };
        for c in &snap.cores {
            out.push(Series {
                spec,
                core: c.index.to_string(),
                hist: pick(&c.http, &c.runtime),
            });
        }
        out.push(Series {
            spec,
            core: "all".into(),
            hist: pick(&http, &runtime),
        });
    }
    out
}

/// The quantiles every export shows.
pub(crate) const QUANTILES: [(f64, &str); 4] =
    [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"), (0.999, "0.999")];
