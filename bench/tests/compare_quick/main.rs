//! `coreline-bench compare --quick` end to end, so that the harness never rots: the real
//! servers (coreline, nginx, hyper-peer) pinned to CPU 0, the real `coreline-load` on CPU 1,
//! every scenario for one second, the report written into a temp dir (never bench/results).
//!
//! Needs nginx (`apt-get install -y nginx-light`, ci/test.sh installs it), 2 CPUs, and the
//! `coreline` and `hyper-peer` binaries in the same target dir (built by `cargo test
//! --workspace --release`, or `cargo build --release -p coreline-http --bin coreline` and
//! `cargo build --release -p coreline-hyper-peer`). About 40 s.

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

#[test]
fn quick_compare_writes_every_row() {
    let (md, json, results) = quick("quick-test", &[]);
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_coreline-bench"))
        .parent()
        .unwrap()
        .to_path_buf();
    let svg = std::fs::read_to_string(results.join("quick-test-ratios.svg")).expect("ratio chart");
    assert!(svg.starts_with("<svg") && svg.contains("coreline/nginx"));
    // coreline-load's percentile spectra of the open-loop runs, copied and linked.
    for what in ["open50/coreline", "open90/nginx"] {
        let plot = json["plots"]["latency"][what]
            .as_str()
            .unwrap_or_else(|| panic!("no plot for {what}"));
        let text = std::fs::read_to_string(results.join(plot)).expect("plot file");
        assert!(
            text.contains("<svg") && md.contains(&format!("]({plot})")),
            "{plot}"
        );
    }
    assert!(
        md.contains("- command: `coreline-bench compare --quick"),
        "{md}"
    );
    assert!(json["kernel"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(
        json["versions"]["nginx"]
            .as_str()
            .is_some_and(|v| v.contains("nginx/")),
        "{}",
        json["versions"]
    );

    let tls = coreline_has_tls(&bin_dir);
    for s in SCENARIOS {
        let mut servers = vec!["nginx"];
        if tls || !s.starts_with("tls") {
            servers.push("coreline");
        } else {
            // Until the TLS wiring lands, the report must say why coreline has no TLS row.
            assert!(
                json["skipped"][format!("{s}/coreline")].is_string(),
                "{s}/coreline neither run nor skipped"
            );
        }
        if HYPER.contains(&s) {
            servers.push("hyper");
        } else {
            assert!(
                json["skipped"][format!("{s}/hyper")].is_string(),
                "{s}/hyper neither run nor skipped"
            );
        }
        for server in servers {
            assert_row(&md, &json, &format!("{s}/{server}"));
        }
    }
    for s in ["open50", "open90"] {
        let rate = json["scenarios"][s]["rate"]
            .as_f64()
            .expect("open-loop rate");
        let capacity = json["capacity_rps"].as_f64().unwrap();
        assert!(
            rate > 0.0 && rate < capacity,
            "{s}: rate {rate} vs capacity {capacity}"
        );
    }
    assert!(
        json["ratios"]["plain64/coreline/nginx"]["headline_value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    std::fs::remove_dir_all(&results).unwrap();
}

/// Runs coreline-bench with `args` (and `PATH`, if given); returns (exit code, stderr).
fn fails(args: &[&str], path: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coreline-bench"));
    cmd.args(args);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    let out = cmd.output().expect("run coreline-bench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn what_to_fix_is_one_line_and_exit_2() {
    let empty = std::env::temp_dir().join(format!("coreline-bench-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let empty_s = empty.display().to_string();
    // A PATH with taskset but no nginx.
    let taskset = empty.join("taskset");
    if !taskset.exists() {
        std::os::unix::fs::symlink("/usr/bin/taskset", &taskset).unwrap();
    }
    let cases: [(&[&str], Option<&str>, &str); 5] = [
        (
            &["compare", "--no-build", "--bin-dir", &empty_s],
            None,
            "cargo build --release -p coreline-http --bin coreline",
        ),
        (
            &[
                "compare",
                "--no-build",
                "--servers",
                "nginx",
                "--load",
                "wrk",
            ],
            Some(empty_s.as_str()),
            "`nginx` not found: install it with `apt-get install -y nginx-light`",
        ),
        (
            &["compare", "--scenarios", "plain65"],
            None,
            "unknown scenario 'plain65'",
        ),
        (
            &["compare", "--server-cpus", "1", "--client-cpus", "1"],
            None,
            "must not overlap",
        ),
        (
            &[
                "compare",
                "--no-build",
                "--servers",
                "nginx",
                "--nginx-conf",
                "/nonexistent.conf",
            ],
            None,
            "--nginx-conf",
        ),
    ];
    for (args, path, expect) in cases {
        let (code, err) = fails(args, path);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains(expect) && err.trim().lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn quick_compare_with_wrk_as_the_load() {
    let (md, json, results) = quick(
        "quick-wrk",
        &[
            "--load",
            "wrk",
            "--servers",
            "coreline,nginx",
            "--scenarios",
            "plain64,pipelined16,close,tls-handshake,tls-resume,open50",
        ],
    );
    assert_eq!(json["load"], "wrk");
    for what in [
        "plain64/coreline",
        "plain64/nginx",
        "pipelined16/coreline",
        "pipelined16/nginx",
        "close/nginx",
        "tls-handshake/nginx",
    ] {
        assert_row(&md, &json, what);
    }
    for what in ["tls-resume/nginx", "open50/nginx", "open50/coreline"] {
        let why = json["skipped"][what]
            .as_str()
            .unwrap_or_else(|| panic!("{what} not skipped"));
        assert!(why.contains("wrk"), "{what}: {why}");
    }
    std::fs::remove_dir_all(&results).unwrap();
}

#[test]
fn failed_load_runs_are_reported_and_exit_1() {
    let _guard = one_at_a_time();
    // A bin dir whose coreline-load always fails, beside the real coreline.
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_coreline-bench"));
    let dir = std::env::temp_dir().join(format!("coreline-bench-failing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("results")).unwrap();
    std::os::unix::fs::symlink(exe.parent().unwrap().join("coreline"), dir.join("coreline"))
        .unwrap();
    let fake = dir.join("coreline-load");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'coreline-load: refused' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(&exe)
        .args([
            "compare",
            "--quick",
            "--no-build",
            "--servers",
            "coreline",
            "--scenarios",
            "plain64,close",
        ])
        .args([
            "--out",
            "failing",
            "--port-base",
            &free_port_base().to_string(),
        ])
        .arg("--bin-dir")
        .arg(&dir)
        .arg("--results-dir")
        .arg(dir.join("results"))
        .output()
        .expect("run coreline-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("2 scenario/server load run(s) failed"),
        "{stderr}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results/failing.json")).unwrap())
            .unwrap();
    for what in ["plain64/coreline", "close/coreline"] {
        let why = json["failed"][what]
            .as_str()
            .unwrap_or_else(|| panic!("{what} not failed: {json}"));
        assert!(why.contains("coreline-load: refused"), "{why}");
    }
    let md = std::fs::read_to_string(dir.join("results/failing.md")).unwrap();
    assert!(
        md.contains("- **failed** `plain64` for coreline: rep 1:"),
        "{md}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
