//! Metrics test helpers: a server with metrics on plus its admin listener, fetching
//! `/metrics`, and parsing it with Python's `prometheus_client` (the reference parser).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use coreline_http::metrics::MetricsAdmin;
use coreline_http::{Handler, Server};
use coreline_runtime::Cores;

use super::{one, Running};

/// The interpreter the Debian package `python3-prometheus-client` installs for (a
/// `python3` earlier on PATH, e.g. pyenv's, would not have it).
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Starts `server` (a builder with metrics on) on its own thread, then an admin server
/// for it on another port.
pub fn start_observed<F, H>(builder: coreline_http::Builder, factory: F) -> (Running, Running)
where
    F: Fn() -> H + Send + Sync + 'static,
    H: Handler,
{
    let server = builder
        .listen("127.0.0.1:0".parse().unwrap())
        .metrics(true)
        .build(factory)
        .expect("build server");
    let observed = super::run_on_thread(server);
    let handle = observed.handle.clone();
    let admin = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .build(move || MetricsAdmin::new(handle.clone()))
        .expect("build admin server");
    (observed, super::run_on_thread(admin))
}

/// The server's metrics now (its cores answer within 5 s, or the test fails).
pub fn snapshot(server: &Running) -> coreline_http::metrics::MetricsSnapshot {
    server
        .handle
        .metrics_snapshot_blocking(Duration::from_secs(5))
        .expect("the cores answer with their metrics")
}

/// The admin server's `/metrics` body (asserting a 200 and the exposition content type).
pub fn fetch_metrics(admin: SocketAddr) -> String {
    let (r, _) = one(admin, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r.body_str().to_string()
}

/// Parses Prometheus text with `prometheus_client`; panics if it does not parse (or the
/// parser is missing). Keys are `name{sorted labels}`, plus `# family NAME TYPE` keys
/// (value 0) for every family the parser saw.
pub fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/parse_prometheus.py"
    );
    let mut child = Command::new(SYSTEM_PYTHON)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3 (ci/test.sh installs python3-prometheus-client)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut samples = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if line.starts_with("# family ") {
            samples.insert(line.to_string(), 0.0);
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap();
        samples.insert(key.to_string(), value.parse().unwrap());
    }
    samples
}

/// A sample's value, panicking with the keys if it is missing.
pub fn sample(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    match samples.get(key) {
        Some(v) => *v,
        None => panic!(
            "no sample {key}; have: {:?}",
            samples.keys().collect::<Vec<_>>()
        ),
    }
}

/// The `_bucket` series of histogram `name` on `core`, as (upper bound, cumulative count)
/// in bound order, `+Inf` last; asserts that they are cumulative (never decreasing) and
/// that `+Inf` equals `_count`.
pub fn histogram(samples: &BTreeMap<String, f64>, name: &str, core: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{core=\"{core}\",le=\"");
    let mut buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|(k, v)| {
            let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            Some((le, *v))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(!buckets.is_empty(), "no buckets of {name} on core {core}");
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "{name} buckets not cumulative: {buckets:?}"
    );
    let count = sample(samples, &format!("{name}_count{{core=\"{core}\"}}"));
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, count)), "{name}");
    buckets
}

/// Waits (bounded) until `cond` holds.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}
