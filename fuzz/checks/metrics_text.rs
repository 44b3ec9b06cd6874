//! The metrics text parser (`metrics::rows_from_prometheus`, what `coreline stats` reads
//! from another process), on arbitrary bytes. Shared by the `metrics_text` fuzz target and
//! `http/tests/fuzz_regressions.rs`.
//!
//! As text (invalid UTF-8 replaced): refused exactly when a line that is neither a comment
//! nor blank has no space or no number after its last space; otherwise one row per
//! (histogram, core), known histograms only, in the table's order (numbered cores
//! ascending, the rest last); comment and blank lines anywhere change nothing. As
//! samples: a snapshot with one to three cores holding the input's values, written by
//! `prometheus_text`, reads back as the rows `latency_rows` gives for it (percentiles to
//! within a histogram bucket).

use std::time::{Duration, UNIX_EPOCH};

use coreline_http::metrics::{
    bucket_bounds, latency_rows, prometheus_text, rows_from_prometheus, CoreSnapshot,
    HttpHistograms, LatencyRow, MetricsSnapshot,
};
use coreline_runtime::metrics::LoopHistograms;
use coreline_runtime::{BufRingStats, CoreStats};

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = rows_from_prometheus(&text);
    assert_eq!(parsed.is_err(), refused(&text), "{text:?}: {parsed:?}");
    if let Ok(rows) = &parsed {
        rows_in_order(rows);
    }
    let mut spaced = String::from("# noise\n\n");
    for piece in text.split_inclusive('\n') {
        spaced.push_str(piece);
        if piece.ends_with('\n') {
            spaced.push_str("# noise\n\n");
        }
    }
    assert_eq!(
        format!("{:?}", rows_from_prometheus(&spaced)),
        format!("{parsed:?}"),
        "comment and blank lines changed the result"
    );
    round_trip(&snapshot(data));
}

/// The reference rule for refusal.
fn refused(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .any(|l| !matches!(l.rsplit_once(' '), Some((_, v)) if v.parse::<f64>().is_ok()))
}

/// The histogram names in table order, from an empty snapshot's rows.
fn kinds() -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for row in latency_rows(&snapshot(&[])) {
        if !kinds.contains(&row.metric) {
            kinds.push(row.metric);
        }
    }
    kinds
}

fn rows_in_order(rows: &[LatencyRow]) {
    let kinds = kinds();
    let keys: Vec<(usize, usize, &str)> = rows
        .iter()
        .map(|r| {
            let kind = kinds.iter().position(|k| *k == r.metric);
            let kind = kind.unwrap_or_else(|| panic!("unknown histogram {:?}", r.metric));
            (kind, r.core.parse().unwrap_or(usize::MAX), r.core.as_str())
        })
        .collect();
    for pair in keys.windows(2) {
        let ((k0, n0, c0), (k1, n1, c1)) = (pair[0], pair[1]);
        assert!((k0, n0) <= (k1, n1), "rows out of order: {pair:?}");
        assert!((k0, c0) != (k1, c1), "two rows for {pair:?}");
    }
}

/// A snapshot of one to three cores whose histograms hold values taken from `data`.
fn snapshot(data: &[u8]) -> MetricsSnapshot {
    let cores = 1 + data.first().map_or(0, |b| usize::from(b % 3));
    let mut snap = MetricsSnapshot {
        started: UNIX_EPOCH,
        uptime: Duration::ZERO,
        cores: (0..cores)
            .map(|index| CoreSnapshot {
                index,
                cpu: index,
                requests: 0,
                connections_accepted: 0,
                connections_taken_over: 0,
                connections_handed_off: 0,
                connections_open: 0,
                listen_backlog: 0,
                responses: Default::default(),
                refusals: Default::default(),
                proxy_spliced_bytes: 0,
                http: HttpHistograms::new(),
                runtime: LoopHistograms::new(),
                buffers: BufRingStats {
                    total: 0,
                    in_use: 0,
                    buf_size: 0,
                },
                stats: CoreStats {
                    ops_in_flight: 0,
                    tasks: 0,
                    timers: 0,
                    cancels: 0,
                },
            })
            .collect(),
        listen: None,
    };
    for (i, pair) in data.chunks(3).enumerate() {
        let core = &mut snap.cores[i % cores];
        let value = pair.iter().fold(0u64, |v, &b| v << 8 | u64::from(b)) << (i % 20);
        let hist = match pair[0] % 7 {
            0 => &mut core.http.accept_to_first_byte_us,
            1 => &mut core.http.queue_wait_us,
            2 => &mut core.http.service_us,
            3 => &mut core.http.accept_queue_depth,
            4 => &mut core.runtime.loop_lag_us,
            5 => &mut core.runtime.completions_per_enter,
            _ => &mut core.runtime.rx_kernel_to_reap_us,
        };
        hist.saturating_record(value);
    }
    snap
}

/// The rows read back from the text equal the rows of the snapshot (to float precision)
/// in count and max; the percentiles, estimated from the histogram buckets, fall in the
/// bucket of the snapshot's own percentile or one next to it.
fn round_trip(snap: &MetricsSnapshot) {
    let want = latency_rows(snap);
    let got = rows_from_prometheus(&prometheus_text(snap)).expect("own text parses");
    assert_eq!(got.len(), want.len(), "rows read back");
    let close =
        |a: f64, b: f64| (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (&g.metric, &g.core, g.micros, g.count),
            (&w.metric, &w.core, w.micros, w.count)
        );
        assert!(close(g.max, w.max), "{g:?} vs {w:?}");
        let bounds = bucket_bounds(w.micros);
        let bucket = |x: f64| bounds.partition_point(|&b| (b as f64) < x * (1.0 - 1e-9));
        for (a, b) in g.quantiles.iter().zip(&w.quantiles) {
            assert_eq!(a.is_nan(), b.is_nan(), "{g:?} vs {w:?}");
            if !a.is_nan() {
                assert!(bucket(*a).abs_diff(bucket(*b)) <= 1, "{g:?} vs {w:?}");
            }
        }
    }
}
