//! The human view: one row per histogram and core, percentiles in readable units. Served
//! as `/debug/latency` and printed by `coreline stats`.

use std::fmt::Write;

use super::series::{series, QUANTILES};
use super::snapshot::MetricsSnapshot;

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyRow {
    /// Which histogram (`service`, `queue_wait`, `first_byte`, `accept_queue`, `loop_lag`,
    /// `completions`).
    pub metric: String,
    /// The core's index, or `all`.
    pub core: String,
    /// Whether values are microseconds (else plain counts).
    pub micros: bool,
    /// p50, p90, p99, p99.9 (NaN when there are no samples).
    pub quantiles: [f64; 4],
    /// Largest value.
    pub max: f64,
    /// Number of samples.
    pub count: u64,
}

/// The rows of `snap`: each histogram per core, then merged (`all`).
pub fn latency_rows(snap: &MetricsSnapshot) -> Vec<LatencyRow> {
    series(snap)
        .into_iter()
        .map(|s| {
            let h = &s.hist;
            let q = |q: f64| match h.is_empty() {
                true => f64::NAN,
                false => h.value_at_quantile(q) as f64,
            };
            LatencyRow {
                metric: s.spec.short.to_string(),
                core: s.core,
                micros: s.spec.micros,
                quantiles: QUANTILES.map(|(x, _)| q(x)),
                max: h.max() as f64,
                count: h.len(),
            }
        })
        .collect()
}

/// The table of `snap` with a title line.
pub fn latency_table(snap: &MetricsSnapshot) -> String {
    let title = format!(
        "coreline latency: {} core(s), up {:.1} s, {} requests",
        snap.cores.len(),
        snap.uptime.as_secs_f64(),
        snap.requests()
    );
    render_table(&title, &latency_rows(snap))
}

/// Renders rows under `title`: one line per row, aligned columns.
pub fn render_table(title: &str, rows: &[LatencyRow]) -> String {
    let mut out = format!("{title}\n");
    let _ = writeln!(
        out,
        "{:<13} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "metric", "core", "p50", "p90", "p99", "p99.9", "max", "count"
    );
    for r in rows {
        let v = |x: f64| value(x, r.micros, r.count);
        let [p50, p90, p99, p999] = r.quantiles;
        let _ = writeln!(
            out,
            "{:<13} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
            r.metric,
            r.core,
            v(p50),
            v(p90),
            v(p99),
            v(p999),
            v(r.max),
            r.count
        );
    }
    out
}

/// A value in a readable unit: µs, ms or s for times, plain for counts; `-` if none.
fn value(x: f64, micros: bool, count: u64) -> String {
    if count == 0 || x.is_nan() {
        "-".into()
    } else if !micros {
        format!("{x:.0}")
    } else if x < 1_000.0 {
        format!("{x:.0}us")
    } else if x < 1_000_000.0 {
        format!("{:.2}ms", x / 1e3)
    } else {
        format!("{:.2}s", x / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(value(12.0, true, 1), "12us");
        assert_eq!(value(5_120.0, true, 1), "5.12ms");
        assert_eq!(value(2_500_000.0, true, 1), "2.50s");
        assert_eq!(value(16.0, false, 1), "16");
        assert_eq!(value(f64::NAN, true, 0), "-");
    }
}
