//! `coreline serve --metrics ADDR`: `/metrics` and `/debug/latency` fetched with curl,
//! `/metrics` parsed by `prometheus_client`, `coreline stats --count 2` against it,
//! interval logs on SIGUSR1 and at shutdown, `--metrics-rx-timestamps`, and the one-line
//! errors.
//!
//! `flags`: the `--metrics*` flags and their errors. `hostile_admin`: `coreline stats`
//! against admin servers that misbehave. This file: the endpoints, `coreline stats` and the
//! interval logs of a running server.

#[path = "../common/mod.rs"]
mod common;
mod flags;
mod hostile_admin;
#[path = "../common/served.rs"]
mod served;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::metrics::{eventually, parse_prometheus, sample};
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use served::Served;

const BIN: &str = env!("CARGO_BIN_EXE_coreline");

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
}

fn curl(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "10", url])
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run coreline")
}

fn hlogs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hlog"))
        .collect();
    files.sort();
    files
}

fn tags(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    IntervalLogIterator::new(&bytes)
        .filter_map(|e| match e.unwrap() {
            LogEntry::Interval(h) => h.tag().map(|t| t.as_str().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn metrics_endpoints_stats_and_interval_logs() {
    let dir = std::env::temp_dir().join(format!("coreline-hlog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let admin = free_port();
    let admin_s = admin.to_string();
    let mut s = Served::start(
        &[
            "--metrics",
            &admin_s,
            "--metrics-hlog",
            dir.to_str().unwrap(),
        ],
        Stdio::null,
    );
    assert!(eventually(Duration::from_secs(10), || TcpStream::connect(
        admin
    )
    .is_ok()));
    for _ in 0..5 {
        assert_eq!(curl(&s.url("/plaintext")), "Hello, World!");
    }

    let m = parse_prometheus(&curl(&format!("http://{admin}/metrics")));
    assert_eq!(sample(&m, "coreline_http_requests_total{core=\"0\"}"), 5.0);
    assert_eq!(
        sample(&m, "coreline_http_service_seconds_count{core=\"0\"}"),
        5.0
    );
    assert!(sample(&m, "coreline_ring_buffers{core=\"0\"}") > 0.0);
    assert!(m.contains_key("coreline_listen_overflows_total{}"));
    assert!(sample(&m, "coreline_completions_per_enter_count{core=\"0\"}") > 0.0);
    // Receive timestamps are off unless asked for.
    assert_eq!(
        sample(&m, "coreline_rx_kernel_to_reap_seconds_count{core=\"0\"}"),
        0.0
    );
    let table = curl(&format!("http://{admin}/debug/latency"));
    assert!(table.lines().any(|l| l.starts_with("service")), "{table}");

    let stats = run(&["stats", &format!("http://{admin}"), "--count", "2"]);
    let out = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats.status.success(),
        "{}",
        String::from_utf8_lossy(&stats.stderr)
    );
    assert_eq!(out.matches("coreline stats http://").count(), 2, "{out}");
    let service = out
        .lines()
        .find(|l| l.starts_with("service") && l.split_whitespace().nth(1) == Some("all"))
        .unwrap_or_else(|| panic!("no service row:\n{out}"));
    assert!(service.ends_with(" 5"), "{service}");

    let pid = Pid::from_raw(s.child.id() as i32);
    kill(pid, Signal::SIGUSR1).unwrap();
    assert!(eventually(Duration::from_secs(10), || hlogs(&dir).len() == 1));
    kill(pid, Signal::SIGTERM).unwrap();
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let logs = hlogs(&dir);
    let names: Vec<String> = logs
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let pid = s.child.id();
    assert_eq!(
        names,
        [
            format!("coreline-{pid}-1.hlog"),
            format!("coreline-{pid}-2.hlog")
        ]
    );
    for log in &logs {
        let tags = tags(log);
        assert!(tags.iter().any(|t| t == "service.core0"), "{tags:?}");
        assert!(tags.iter().any(|t| t == "accept_queue.all"), "{tags:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
