//! The `--metrics*` flags: one-line errors for bad combinations (and for `coreline stats`
//! that cannot reach its admin), `--metrics-rx-timestamps` stamping every receive, and
//! `--metrics-public` allowing a wildcard admin address.

use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::common::metrics::{eventually, parse_prometheus, sample};
use crate::served::Served;
use crate::{curl, free_port, run};

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
        sample(&m, "coreline_rx_kernel_to_reap_seconds_count{core=\"0\"}")
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
