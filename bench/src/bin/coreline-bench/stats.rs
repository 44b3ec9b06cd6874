//! Medians over the repeats of one (scenario, server), and the ratios between servers.

use std::collections::BTreeMap;

use coreline_bench::{ErrorCounts, LatencyUs};

use crate::measure::limit;
use crate::session::Run;

/// The median of `v` (NaN for none); NaNs sort last.
pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.to_vec();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Repeats whose fastest req/s is more than this many times the slowest are flagged
/// bimodal: a scenario that lands in one of two modes run to run, so its median says
/// little about either.
pub const BIMODAL_RATIO: f64 = 1.5;

/// Medians of one (scenario, server) over its repeats.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Requests per second.
    pub rps: f64,
    /// The slowest repeat's requests per second.
    pub rps_min: f64,
    /// The fastest repeat's requests per second.
    pub rps_max: f64,
    /// Response bytes per second.
    pub bytes_per_sec: f64,
    /// Latency percentiles in µs (mean, p50 ... max).
    pub latency_us: BTreeMap<String, f64>,
    /// Server CPU-µs per request.
    pub cpu_us_per_req: f64,
    /// The user-mode part of `cpu_us_per_req` (median on its own).
    pub user_us_per_req: f64,
    /// The kernel part of `cpu_us_per_req` (median on its own).
    pub sys_us_per_req: f64,
    /// Requests per server CPU-second.
    pub req_per_cpu_s: f64,
    /// Server CPU ÷ wall (% of its cores).
    pub server_core_pct: f64,
    /// Busy share of the client CPUs.
    pub client_core_pct: f64,
    /// Server RSS (KiB) at the end of the run.
    pub rss_kib: f64,
    /// `client`, `server`, `both` or `neither`, from the median core shares.
    pub limit: &'static str,
    /// Errors by kind, summed over the repeats.
    pub errors: BTreeMap<String, u64>,
    /// Requests, summed over the repeats.
    pub requests: u64,
}

impl Summary {
    /// The medians of `runs`.
    pub fn of(runs: &[Run]) -> Summary {
        let med = |f: &dyn Fn(&Run) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        let mut s = Summary {
            rps: med(&|r| r.m.load.requests_per_sec),
            rps_min: runs
                .iter()
                .map(|r| r.m.load.requests_per_sec)
                .fold(f64::NAN, f64::min),
            rps_max: runs
                .iter()
                .map(|r| r.m.load.requests_per_sec)
                .fold(f64::NAN, f64::max),
            bytes_per_sec: med(&|r| r.m.load.bytes_per_sec),
            cpu_us_per_req: med(&|r| r.m.cpu_us_per_req()),
            user_us_per_req: med(&|r| r.m.user_us_per_req()),
            sys_us_per_req: med(&|r| r.m.sys_us_per_req()),
            req_per_cpu_s: med(&|r| r.m.req_per_cpu_s()),
            server_core_pct: med(&|r| r.m.server_core_pct),
            client_core_pct: med(&|r| r.m.client_core_pct),
            rss_kib: med(&|r| r.m.rss_kib as f64),
            requests: runs.iter().map(|r| r.m.load.requests).sum(),
            ..Summary::default()
        };
        s.limit = limit(s.server_core_pct, s.client_core_pct);
        for (i, (key, _)) in LatencyUs::default().by_key().into_iter().enumerate() {
            s.latency_us
                .insert(key.into(), med(&|r| r.m.load.latency_us.by_key()[i].1));
        }
        for (i, (kind, _)) in ErrorCounts::default().by_kind().into_iter().enumerate() {
            s.errors.insert(
                kind.into(),
                runs.iter().map(|r| r.m.load.errors.by_kind()[i].1).sum(),
            );
        }
        s
    }

    /// Whether the repeats' req/s differ by more than [`BIMODAL_RATIO`] (fastest ÷
    /// slowest); a single repeat never is.
    pub fn bimodal(&self) -> bool {
        self.rps_max > self.rps_min * BIMODAL_RATIO
    }

    /// The p-th latency percentile key's median (µs).
    pub fn lat(&self, key: &str) -> f64 {
        self.latency_us.get(key).copied().unwrap_or(f64::NAN)
    }
}

/// The base server (coreline, or the first one selected) ÷ a peer in one scenario.
#[derive(Debug, Clone)]
pub struct Ratio {
    /// req/s ratio (> 1: the base served more).
    pub rps: f64,
    /// Requests per server CPU-second ratio (> 1: the base cheaper per request).
    pub req_per_cpu_s: f64,
    /// p99 latency ratio (< 1: the base faster).
    pub p99: f64,
    /// Which of the two is the headline: `req per CPU-s` unless both servers were the limit
    /// (then `req/s`).
    pub headline: &'static str,
}

impl Ratio {
    /// The base's summary `a` against the peer's `b`.
    pub fn of(a: &Summary, b: &Summary) -> Ratio {
        let server_bound =
            |s: &Summary| matches!(s.limit, "server" | "both") && s.client_core_pct < 95.0;
        let headline = if server_bound(a) && server_bound(b) {
            "req/s"
        } else {
            "req per CPU-s"
        };
        Ratio {
            rps: a.rps / b.rps,
            req_per_cpu_s: a.req_per_cpu_s / b.req_per_cpu_s,
            p99: a.lat("p99") / b.lat("p99"),
            headline,
        }
    }

    /// The value of the headline ratio.
    pub fn headline_value(&self) -> f64 {
        if self.headline == "req/s" {
            self.rps
        } else {
            self.req_per_cpu_s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn repeats_more_than_one_and_a_half_times_apart_are_bimodal() {
        let s = |min, max| Summary {
            rps_min: min,
            rps_max: max,
            ..Summary::default()
        };
        assert!(s(2000.0, 7500.0).bimodal());
        assert!(!s(2000.0, 3000.0).bimodal());
        assert!(!s(2000.0, 2000.0).bimodal());
        assert!(!s(f64::NAN, f64::NAN).bimodal());
    }

    #[test]
    fn headline_is_cpu_per_request_unless_both_servers_saturate() {
        let s = |server, client, rps, eff| Summary {
            server_core_pct: server,
            client_core_pct: client,
            rps,
            req_per_cpu_s: eff,
            limit: limit(server, client),
            ..Summary::default()
        };
        let r = Ratio::of(&s(90.0, 99.0, 100.0, 200.0), &s(95.0, 99.0, 100.0, 100.0));
        assert_eq!((r.headline, r.headline_value()), ("req per CPU-s", 2.0));
        let r = Ratio::of(&s(99.0, 80.0, 300.0, 300.0), &s(99.0, 70.0, 100.0, 100.0));
        assert_eq!((r.headline, r.headline_value()), ("req/s", 3.0));
    }
}
