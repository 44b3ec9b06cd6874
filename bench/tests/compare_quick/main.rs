//! `coreline-bench compare --quick` end to end, so that the harness never rots: the real
//! servers (coreline, nginx, hyper-peer) pinned to CPU 0, the real `coreline-load` on CPU 1,
//! every scenario for one second, the report written into a temp dir (never bench/results).
//!
//! Needs nginx (`apt-get install -y nginx-light`, ci/test.sh installs it), 2 CPUs, and the
//! `coreline` and `hyper-peer` binaries in the same target dir (built by `cargo test
//! --workspace --release`, or `cargo build --release -p coreline-http --bin coreline` and
//! `cargo build --release -p coreline-hyper-peer`). About 40 s.
//!
//! `reports`: the comparisons that succeed. `failures`: the ones that cannot run or whose
//! load fails. This file: running one comparison and checking its rows.

mod failures;
mod reports;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

const SCENARIOS: [&str; 11] = [
    "plain64",
    "plain1024",
    "pipelined16",
    "close",
    "file64k",
    "file1m",
    "tls",
    "tls-handshake",
    "tls-resume",
    "open50",
    "open90",
];
/// What hyper-peer can serve (plain HTTP, no files).
const HYPER: [&str; 6] = [
    "plain64",
    "plain1024",
    "pipelined16",
    "close",
    "open50",
    "open90",
];

/// One comparison at a time: they all pin CPUs 0 and 1, and their ports must not collide.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A base port with six free ports after it (three servers, plain + TLS each), below the
/// ephemeral range (32768+) that the load's own connections draw from.
fn free_port_base() -> u16 {
    let slots = (32000 - 20000) / 8;
    let first = std::process::id() % slots;
    (0..slots)
        .map(|i| 20000 + ((first + i) % slots) as u16 * 8)
        .find(|base| (0..6).all(|p| TcpListener::bind(("127.0.0.1", base + p)).is_ok()))
        .expect("no six free loopback ports")
}

/// Whether this tree's coreline has the `--tls-*` flags (its usage line lists them).
fn coreline_has_tls(bin_dir: &Path) -> bool {
    let out = Command::new(bin_dir.join("coreline"))
        .arg("--help")
        .output()
        .expect("run coreline");
    String::from_utf8_lossy(&out.stdout).contains("--tls-listen")
}

fn positive(v: &Value, key: &str, what: &str) -> f64 {
    let x = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {key} missing: {v}"));
    assert!(x > 0.0, "{what}: {key} = {x}");
    x
}

/// Runs `coreline-bench compare --quick --no-build` with `extra` arguments into a fresh temp
/// dir; returns (Markdown, JSON, results dir). Panics with its stderr if it fails.
fn quick(out_name: &str, extra: &[&str]) -> (String, Value, PathBuf) {
    let _guard = one_at_a_time();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_coreline-bench"));
    let bin_dir = exe.parent().unwrap().to_path_buf();
    assert!(
        ["coreline", "coreline-load", "hyper-peer"]
            .iter()
            .all(|b| bin_dir.join(b).is_file()),
        "build the binaries first: cargo build --release -p coreline-http --bin coreline && \
         cargo build --release -p coreline-hyper-peer && cargo build --release -p coreline-bench"
    );
    let results =
        std::env::temp_dir().join(format!("coreline-bench-{out_name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&results);
    let out = Command::new(&exe)
        .args([
            "compare",
            "--quick",
            "--no-build",
            "--out",
            out_name,
            "--port-base",
        ])
        .arg(free_port_base().to_string())
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--results-dir")
        .arg(&results)
        .args(extra)
        .output()
        .expect("run coreline-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "coreline-bench failed: {stderr}");
    let md =
        std::fs::read_to_string(results.join(format!("{out_name}.md"))).expect("Markdown report");
    let json =
        std::fs::read_to_string(results.join(format!("{out_name}.json"))).expect("JSON report");
    let json: Value = serde_json::from_str(&json).expect("JSON report parses");
    assert_eq!(
        json["failed"],
        serde_json::json!({}),
        "failed load runs: {stderr}"
    );
    (md, json, results)
}

/// Asserts that `what` (`scenario/server`) has a Markdown row and non-zero medians.
fn assert_row(md: &str, json: &Value, what: &str) {
    let (s, server) = what.split_once('/').unwrap();
    let m = &json["median"][what];
    positive(m, "rps", what);
    positive(m, "bytes_per_sec", what);
    positive(m, "cpu_us_per_req", what);
    positive(m, "req_per_cpu_s", what);
    positive(m, "rss_kib", what);
    let p50 = positive(&m["latency_us"], "p50", what);
    match m["latency_us"]["p99.9"].as_f64() {
        Some(p999) => assert!(p999 >= p50, "{what}: p99.9 {p999} < p50 {p50}"),
        // wrk's percentile() gives 0 for high percentiles of some pipelined runs: null.
        None => assert_eq!(json["load"], "wrk", "{what}: no p99.9"),
    }
    assert!(
        md.contains(&format!("| {s} | {server} | ")),
        "no Markdown row for {what}"
    );
}
