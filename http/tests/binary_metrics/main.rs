//! `coreline serve --metrics ADDR`: `/metrics` and `/debug/latency` fetched with curl,
//! `/metrics` parsed by `prometheus_client`, `coreline stats --count 2` against it,
//! interval logs on SIGUSR1 and at shutdown, `--metrics-rx-timestamps`, and the one-line
//! errors.

#[path = "common/mod.rs"]
mod common;
#[path = "common/served.rs"]
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
        sample(&m, "coreline_http_service_seconds_count{core=\"all\"}"),
        5.0
    );
    assert!(sample(&m, "coreline_ring_buffers{core=\"0\"}") > 0.0);
    assert!(m.contains_key("coreline_listen_overflows_total{}"));
    assert!(sample(&m, "coreline_completions_per_enter_count{core=\"0\"}") > 0.0);
    // Receive timestamps are off unless asked for.
    assert_eq!(
        sample(&m, "coreline_rx_kernel_to_reap_seconds_count{core=\"all\"}"),
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

#[test]
fn stats_and_flags_fail_with_one_line() {
    let gone = free_port(); // nothing listens there any more
    let out = run(&["stats", &format!("http://{gone}"), "--count", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach"), "{err}");

    for (args, says) in [
        (&["stats"][..], "admin URL"),
        (&["stats", "http://127.0.0.1:1/metrics"], "without a path"),
        (&["serve", "--metrics", "nope"], "--metrics"),
        (&["serve", "--metrics-hlog", "/tmp"], "needs --metrics"),
        (&["serve", "--metrics-rx-timestamps"], "needs --metrics"),
        (&["serve", "--metrics", "0.0.0.0:0"], "--metrics-public"),
        (&["serve", "--metrics", "[::]:0"], "--metrics-public"),
        (&["serve", "--metrics-public"], "needs --metrics"),
        (
            &[
                "serve",
                "--metrics",
                "127.0.0.1:0",
                "--metrics-hlog",
                "/nonexistent/dir",
            ],
            "not a writable directory",
        ),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // SIGUSR1 without --metrics is noted and ignored: the server keeps serving.
    let s = Served::start(&[] as &[&str], Stdio::null);
    kill(Pid::from_raw(s.child.id() as i32), Signal::SIGUSR1).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(curl(&s.url("/plaintext")), "Hello, World!");
}

/// `--metrics-rx-timestamps`: every request's receive is stamped by the kernel, so each
/// one adds an `rx_wait` sample, and the responses are intact (payload after the header).
#[test]
fn rx_timestamps_flag_records_rx_wait() {
    let admin = free_port();
    let admin_s = admin.to_string();
    let s = Served::start(
        &["--metrics", &admin_s, "--metrics-rx-timestamps"],
        Stdio::null,
    );
    assert!(eventually(Duration::from_secs(10), || TcpStream::connect(
        admin
    )
    .is_ok()));
    let count = || {
        let m = parse_prometheus(&curl(&format!("http://{admin}/metrics")));
        sample(&m, "coreline_rx_kernel_to_reap_seconds_count{core=\"all\"}")
    };
    // The kernel turns its stamping on asynchronously: wait until packets carry stamps.
    assert!(eventually(Duration::from_secs(10), || {
        assert_eq!(curl(&s.url("/plaintext")), "Hello, World!");
        count() > 0.0
    }));
    let before = count();
    for _ in 0..5 {
        assert_eq!(curl(&s.url("/plaintext")), "Hello, World!");
    }
    // (Each /metrics fetch is a stamped request too; a scrape within a second of the
    // last one shows the same snapshot, so the new samples may show one later.)
    assert!(
        eventually(Duration::from_secs(10), || count() - before >= 5.0),
        "fewer than 5 stamped receives for 5 requests"
    );
}

/// `--metrics` beyond loopback starts with `--metrics-public` (and serves there).
#[test]
fn metrics_public_allows_a_wildcard_admin_address() {
    let port = free_port().port();
    let admin = format!("0.0.0.0:{port}");
    let _s = Served::start(&["--metrics", &admin, "--metrics-public"], Stdio::null);
    let local = format!("127.0.0.1:{port}");
    assert!(eventually(Duration::from_secs(10), || TcpStream::connect(
        &local
    )
    .is_ok()));
    assert!(curl(&format!("http://{local}/metrics")).contains("coreline_http_requests_total"));
}

/// A one-connection HTTP server that answers anything with `response` (then `tail`
/// repeated until the peer goes away, if given). Returns its address.
fn fake_admin(response: Vec<u8>, tail: Option<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = conn.read(&mut request);
        if conn.write_all(&response).is_err() {
            return;
        }
        if let Some(tail) = tail {
            while conn.write_all(&tail).is_ok() {}
        }
    });
    addr
}

#[test]
fn stats_reads_a_bounded_response_and_prints_no_terminal_escapes() {
    let endless = fake_admin(
        b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
        Some(vec![b'#'; 64 * 1024]),
    );
    let out = run(&["stats", &format!("http://{endless}"), "--count", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("more than"), "{err}");

    let body = "coreline_http_service_seconds_count{core=\"\x1b[2J\x1b]2;owned\x07\"} 3\n";
    let hostile = fake_admin(
        format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{body}").into_bytes(),
        None,
    );
    let out = run(&["stats", &format!("http://{hostile}"), "--count", "1"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !printed.contains('\x1b') && !printed.contains('\x07'),
        "{printed:?}"
    );
    assert!(printed.contains("\\u{1b}[2J"), "{printed}");

    let bad_status = fake_admin(b"HTTP/1.1 500 \x1b[2Jboom\r\n\r\n".to_vec(), None);
    let out = run(&["stats", &format!("http://{bad_status}"), "--count", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains('\x1b') && err.contains("500"), "{err:?}");
    let bad_line = fake_admin(
        b"HTTP/1.1 200 OK\r\n\r\n\x1b[31mnot metrics\x1b[0m\n".to_vec(),
        None,
    );
    let out = run(&["stats", &format!("http://{bad_line}"), "--count", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        !err.contains('\x1b') && err.contains("malformed"),
        "{err:?}"
    );
}
