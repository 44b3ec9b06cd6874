//! The results: the human summary (like wrk's) and the `--json` document.

use std::fmt::Write as _;
use std::time::Duration;

use coreline_bench::{ErrorCounts, LatencyUs, LoadReport, LoadSummary, LOAD_REPORT_SCHEMA_VERSION};
use hdrhistogram::Histogram;

use crate::args::{Config, REQUESTS_ONLY_LIMIT};
use crate::stats::{ErrorKind, Stats};

/// Percentiles reported, with their labels.
const PERCENTILES: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

/// Latency thresholds (ms) whose exceedances `--json` counts: a 200 ms retransmission
/// timeout, and the 1 s / 3 s of a first and second SYN retransmit.
const TAIL_MS: [u64; 3] = [200, 1000, 3000];

/// Responses with a latency of at least `us` (to the histogram's resolution, 0.1 %).
fn count_at_least(h: &Histogram<u64>, us: u64) -> u64 {
    h.iter_recorded()
        .filter(|v| v.value_iterated_to() >= us)
        .map(|v| v.count_at_value())
        .sum()
}

/// The merged results of a run.
pub struct Report<'a> {
    pub cfg: &'a Config,
    pub cpus: &'a [usize],
    pub stats: &'a Stats,
    /// Measured: from the start to the end of the run (or the last response, if later).
    pub duration: Duration,
    /// Open loop: the requests that fell due before the end.
    pub due: Option<u64>,
    /// Ctrl-C ended the run early.
    pub interrupted: bool,
}

impl Report<'_> {
    fn per_sec(&self, n: u64) -> f64 {
        n as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    /// The `--json` document.
    pub fn json(&self) -> LoadReport {
        let s = self.stats;
        let count = |k| s.errors.count(k);
        let q = |q: f64| s.latency.value_at_quantile(q) as f64;
        let by_kind = |k: &ErrorKind| k.name().to_string();
        LoadReport {
            schema_version: LOAD_REPORT_SCHEMA_VERSION,
            url: self.cfg.target.url.clone(),
            connections: self.cfg.connections,
            duration_s: self.duration.as_secs_f64(),
            rate: self.cfg.rate,
            pipeline: self.cfg.pipeline,
            close: self.cfg.close,
            tls: self.cfg.target.tls,
            cpus: self.cpus.to_vec(),
            summary: LoadSummary {
                requests: s.requests,
                errors: ErrorCounts {
                    connect: count(ErrorKind::Connect),
                    read: count(ErrorKind::Read),
                    write: count(ErrorKind::Write),
                    timeout: count(ErrorKind::Timeout),
                    status: count(ErrorKind::Status),
                    parse: count(ErrorKind::Parse),
                },
                bytes: s.bytes,
                requests_per_sec: self.per_sec(s.requests),
                bytes_per_sec: self.per_sec(s.bytes),
                latency_us: LatencyUs {
                    mean: s.latency.mean(),
                    p50: q(0.50),
                    p90: q(0.90),
                    p99: q(0.99),
                    p99_9: q(0.999),
                    p99_99: q(0.9999),
                    max: s.latency.max() as f64,
                },
            },
            latency_over_ms: TAIL_MS
                .iter()
                .map(|t| (*t, count_at_least(&s.latency, t * 1000)))
                .collect(),
            first_errors: ErrorKind::ALL
                .iter()
                .filter_map(|k| Some((by_kind(k), s.errors.first[*k as usize].clone()?)))
                .collect(),
            error_causes: ErrorKind::ALL
                .iter()
                .filter(|k| !s.errors.causes[**k as usize].is_empty())
                .map(|k| (by_kind(k), s.errors.causes[*k as usize].clone()))
                .collect(),
            requests_due: self.due,
            interrupted: self.interrupted,
            tls_resume: self.cfg.tls_resume,
            method: self.cfg.method.clone(),
            fastopen: self.cfg.fastopen,
            status_counts: s.statuses.clone(),
            requests_limit: self.cfg.requests.map(|n| n as u64),
            warmup_s: self.cfg.warmup.as_secs_f64(),
        }
    }

    /// The human summary for stdout.
    pub fn text(&self) -> String {
        let (cfg, s) = (self.cfg, self.stats);
        let mut out = String::new();
        let mode = match cfg.rate {
            Some(r) => format!("open loop at {r} requests/s (latency from due time)"),
            None => "closed loop".to_string(),
        };
        let seconds = format!("{:.1}s", cfg.duration.as_secs_f64());
        let mut length = match cfg.requests {
            Some(n) if cfg.duration == REQUESTS_ONLY_LIMIT => format!("{n} requests"),
            Some(n) => format!("{n} requests or {seconds}"),
            None => seconds,
        };
        if !cfg.warmup.is_zero() {
            length += &format!(" after a {}s warm-up", cfg.warmup.as_secs());
        }
        let _ = writeln!(
            out,
            "coreline-load {} for {length}: {} connections, pipeline {}{}{}, cpus {:?}, {mode}",
            cfg.target.url,
            cfg.connections,
            cfg.pipeline,
            if cfg.close {
                ", new connection per request"
            } else {
                ""
            },
            match (cfg.target.tls, cfg.tls_resume) {
                (false, _) => "",
                (true, true) => ", TLS with resumption",
                (true, false) => ", TLS without resumption",
            },
            self.cpus,
        );
        if s.requests == 0 {
            let _ = writeln!(out, "  Latency      (no responses)");
        } else {
            let _ = writeln!(out, "  Latency      mean {}", ms(s.latency.mean()));
            for (label, q) in PERCENTILES {
                let v = s.latency.value_at_quantile(q) as f64;
                let _ = writeln!(out, "  {label:<12} {}", ms(v));
            }
            let _ = writeln!(out, "  {:<12} {}", "max", ms(s.latency.max() as f64));
        }
        let _ = writeln!(
            out,
            "  {} requests in {:.2}s, {} read",
            s.requests,
            self.duration.as_secs_f64(),
            bytes(s.bytes as f64)
        );
        if !s.statuses.is_empty() {
            let counts: Vec<String> = (s.statuses.iter())
                .map(|(status, n)| format!("{status}: {n}"))
                .collect();
            let _ = writeln!(out, "  Status codes: {}", counts.join(", "));
        }
        if s.errors.total() > 0 {
            let _ = writeln!(out, "  Errors:");
            for kind in ErrorKind::ALL {
                let n = s.errors.count(kind);
                if n > 0 {
                    let why = s.errors.first[kind as usize].as_deref().unwrap_or("");
                    let _ = writeln!(out, "    {:<8} {n} (first: {why})", kind.name());
                }
            }
        }
        if self.interrupted {
            let _ = writeln!(out, "  interrupted: requests in flight were abandoned");
        }
        if let Some(due) = self.due.filter(|_| !self.interrupted) {
            // Requests due but not sent by the end are not in the latency figures: say so.
            if s.requests + s.errors.count(ErrorKind::Timeout) < due {
                let _ = writeln!(
                    out,
                    "  {due} requests were due, {} completed: the target rate was not sustained",
                    s.requests
                );
            }
        }
        let _ = writeln!(out, "Requests/sec: {:.2}", self.per_sec(s.requests));
        let _ = writeln!(out, "Transfer/sec: {}", bytes(self.per_sec(s.bytes)));
        out
    }
}

/// Microseconds shown in the most readable unit.
fn ms(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{:.2}s", us / 1_000_000.0)
    } else if us >= 1000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{us:.0}us")
    }
}

/// Bytes in binary units, as wrk prints them.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::histogram;

    #[test]
    fn tail_counts_include_the_threshold_and_what_is_above() {
        let mut h = histogram();
        for us in [
            90, 150_000, 199_000, 200_000, 1_000_000, 1_003_000, 2_990_000, 3_010_000,
        ] {
            h.record(us).unwrap();
        }
        assert_eq!(count_at_least(&h, 200_000), 5);
        assert_eq!(count_at_least(&h, 1_000_000), 4);
        assert_eq!(count_at_least(&h, 3_000_000), 1);
        assert_eq!(count_at_least(&h, 60_000_000), 0);
    }
}
