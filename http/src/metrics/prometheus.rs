//! The Prometheus text exposition format (version 0.0.4) of a [`MetricsSnapshot`].
//!
//! Every series has a `core` label (the core's index); there are no merged series, since
//! Prometheus sums cores itself (`sum by (le) (...)`). Histograms are `histogram`
//! families: cumulative `_bucket` counts at fixed bounds (10 µs .. 10 s for latencies,
//! 0 and powers of 2 for counts; see `buckets.rs`) counted from each core's HdrHistogram
//! when scraped, `_count`, and `_sum`, which is the HdrHistogram's mean × count (1 %
//! precision, no exact running sum is kept); each has a `_max` gauge family beside it.
//! Latencies are in seconds. Responses are counted by status class and route kind,
//! refusals by reason. The listen counters are namespace-wide deltas since the server
//! started, so they carry no core label.

use std::fmt::Write;

use super::buckets::{bounds, cumulative};
use super::counters::{Refusal, ResponseKind, STATUS_CLASSES};
use super::series::series;
use super::snapshot::MetricsSnapshot;

/// Renders `snap` as Prometheus text.
pub fn prometheus_text(snap: &MetricsSnapshot) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let o = &mut out;
    let per_core = |f: &dyn Fn(&super::CoreSnapshot) -> f64| -> Vec<(String, f64)> {
        snap.cores
            .iter()
            .map(|c| (format!("core=\"{}\"", c.index), f(c)))
            .collect()
    };
    family(
        o,
        "coreline_http_requests_total",
        "counter",
        "Requests whose handler started.",
        &per_core(&|c| c.requests as f64),
    );
    family(
        o,
        "coreline_http_connections_accepted_total",
        "counter",
        "Connections accepted.",
        &per_core(&|c| c.connections_accepted as f64),
    );
    family(
        o,
        "coreline_http_connections_taken_over_total",
        "counter",
        "Connections accepted from another core's listener while that core lagged.",
        &per_core(&|c| c.connections_taken_over as f64),
    );
    family(
        o,
        "coreline_http_connections_handed_off_total",
        "counter",
        "Connections accepted while this core lagged and handed to another core to serve.",
        &per_core(&|c| c.connections_handed_off as f64),
    );
    family(
        o,
        "coreline_proxy_spliced_bytes_total",
        "counter",
        "Bytes of upstream response bodies spliced to clients, socket to socket.",
        &per_core(&|c| c.proxy_spliced_bytes as f64),
    );
    family(
        o,
        "coreline_http_connections_open",
        "gauge",
        "Connections open.",
        &per_core(&|c| c.connections_open as f64),
    );
    family(
        o,
        "coreline_listen_backlog",
        "gauge",
        "Accept-queue limit of the core's listeners as the kernel applies it.",
        &per_core(&|c| f64::from(c.listen_backlog)),
    );
    family(
        o,
        "coreline_ring_buffers",
        "gauge",
        "Buffers in the core's provided-buffer ring.",
        &per_core(&|c| c.buffers.total as f64),
    );
    family(
        o,
        "coreline_ring_buffers_in_use",
        "gauge",
        "Provided buffers holding received data not yet consumed.",
        &per_core(&|c| c.buffers.in_use as f64),
    );
    family(
        o,
        "coreline_ops_in_flight",
        "gauge",
        "io_uring operations the kernel still owns.",
        &per_core(&|c| c.stats.ops_in_flight as f64),
    );
    family(
        o,
        "coreline_ops_cancelled_total",
        "counter",
        "io_uring operations ended early with ASYNC_CANCEL (dropped, stopped or throttled).",
        &per_core(&|c| c.stats.cancels as f64),
    );
    family(
        o,
        "coreline_tasks",
        "gauge",
        "Tasks alive on the core.",
        &per_core(&|c| c.stats.tasks as f64),
    );
    family(
        o,
        "coreline_uptime_seconds",
        "gauge",
        "Time since the server started.",
        &[(String::new(), snap.uptime.as_secs_f64())],
    );
    if let Some(l) = snap.listen {
        let counters = [
            (
                "coreline_listen_overflows_total",
                "ListenOverflows",
                l.listen_overflows,
            ),
            ("coreline_listen_drops_total", "ListenDrops", l.listen_drops),
            (
                "coreline_listen_syn_queue_full_drops_total",
                "TCPReqQFullDrop",
                l.req_q_full_drop,
            ),
            (
                "coreline_listen_syn_queue_full_cookies_total",
                "TCPReqQFullDoCookies",
                l.req_q_full_do_cookies,
            ),
            (
                "coreline_syncookies_sent_total",
                "SyncookiesSent",
                l.syncookies_sent,
            ),
        ];
        for (name, kernel, value) in counters {
            let help = format!(
                "The kernel's {kernel} since the server started (whole network namespace)."
            );
            family(o, name, "counter", &help, &[(String::new(), value as f64)]);
        }
    }
    outcomes(o, snap);
    histograms(o, snap);
    out
}

/// One family of plain samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        match labels.is_empty() {
            true => {
                let _ = writeln!(out, "{name} {value}");
            }
            false => {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    }
}

/// Every histogram as a `histogram` family per core, plus a `_max` gauge family.
fn histograms(out: &mut String, snap: &MetricsSnapshot) {
    // The merged ("all") series are for the table and logs: Prometheus sums cores itself.
    let per_core: Vec<_> = series(snap)
        .into_iter()
        .filter(|s| s.core != "all")
        .collect();
    for group in per_core.chunk_by(|a, b| a.spec.prom == b.spec.prom) {
        let spec = group[0].spec;
        let scale = if spec.micros { 1e-6 } else { 1.0 };
        let name = spec.prom;
        let bounds = bounds(spec.micros);
        let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} histogram", spec.help);
        for s in group {
            let (h, core) = (&s.hist, &s.core);
            let counts = cumulative(h, bounds);
            for (bound, count) in bounds.iter().zip(&counts) {
                // Divided, not multiplied by 1e-6: the quotient is the double nearest the
                // decimal bound, so labels read `0.000025`, not `0.000024999999999999998`.
                let le = match spec.micros {
                    true => *bound as f64 / 1e6,
                    false => *bound as f64,
                };
                let _ = writeln!(out, "{name}_bucket{{core=\"{core}\",le=\"{le}\"}} {count}");
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{core=\"{core}\",le=\"+Inf\"}} {}",
                h.len()
            );
            let sum = h.mean() * h.len() as f64 * scale;
            let _ = writeln!(out, "{name}_sum{{core=\"{core}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{core=\"{core}\"}} {}", h.len());
        }
        let _ = writeln!(
            out,
            "# HELP {name}_max Largest value of {name}.\n# TYPE {name}_max gauge"
        );
        for s in group {
            let max = s.hist.max() as f64 * scale;
            let _ = writeln!(out, "{name}_max{{core=\"{}\"}} {max}", s.core);
        }
    }
}

/// Responses by status class and kind, refusals by reason: one counter family each.
fn outcomes(out: &mut String, snap: &MetricsSnapshot) {
    let mut responses = Vec::new();
    let mut refusals = Vec::new();
    for c in &snap.cores {
        for (class, label) in STATUS_CLASSES.iter().enumerate() {
            for kind in ResponseKind::ALL {
                let labels = format!(
                    "class=\"{label}\",core=\"{}\",route=\"{}\"",
                    c.index,
                    kind.label()
                );
                responses.push((labels, c.responses.get(class, kind) as f64));
            }
        }
        for reason in Refusal::ALL {
            let labels = format!("core=\"{}\",reason=\"{}\"", c.index, reason.label());
            refusals.push((labels, c.refusals.get(reason) as f64));
        }
    }
    family(
        out,
        "coreline_http_responses_total",
        "counter",
        "Responses by status class and route kind (handler, file body, the library's own error responses).",
        &responses,
    );
    family(
        out,
        "coreline_http_refusals_total",
        "counter",
        "Connections and requests refused, by reason.",
        &refusals,
    );
}
