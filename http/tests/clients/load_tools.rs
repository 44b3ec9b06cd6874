//! Load tools against the binary: ApacheBench (`ab -k`, HTTP/1.0 keep-alive), h2load
//! (`--h1`, 16 pipelined) and wrk, each judged by its own summary.

use std::time::Duration;

use crate::tools::{field, run};
use crate::Server;

#[test]
fn ab_http10_keep_alive() {
    let server = Server::start();
    let out = run(
        "ab",
        &[
            "-k",
            "-n",
            "2000",
            "-c",
            "10",
            "-s",
            "10",
            &server.url("/plaintext"),
        ],
        Duration::from_secs(60),
    );
    assert!(out.success, "ab failed\n{}", out.describe());
    let o = &out.stdout;
    assert_eq!(field(o, "Server Software"), Some("coreline"), "\n{o}");
    assert_eq!(field(o, "Document Length"), Some("13 bytes"), "\n{o}");
    assert_eq!(field(o, "Complete requests"), Some("2000"), "\n{o}");
    assert_eq!(field(o, "Failed requests"), Some("0"), "\n{o}");
    assert_eq!(
        field(o, "Keep-Alive requests"),
        Some("2000"),
        "every HTTP/1.0 keep-alive request must be answered with keep-alive\n{o}"
    );
    assert_eq!(field(o, "Non-2xx responses"), None, "\n{o}");
}

#[test]
fn h2load_h1_pipelined_16_all_2xx() {
    let server = Server::start();
    let out = run(
        "h2load",
        &[
            "--h1",
            "-n",
            "20000",
            "-c",
            "10",
            "-m",
            "16",
            "-T",
            "10",
            &server.url("/plaintext"),
        ],
        Duration::from_secs(60),
    );
    assert!(out.success, "h2load failed\n{}", out.describe());
    let o = &out.stdout;
    // "requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout"
    let requests = field(o, "requests").unwrap_or_else(|| panic!("no requests line\n{o}"));
    let count = |line: &str, what: &str| -> u64 {
        line.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_suffix(what).map(str::trim))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no '{what}' count in '{line}'\n{o}"))
    };
    assert_eq!(count(requests, "succeeded"), 20000, "\n{o}");
    assert_eq!(count(requests, "failed"), 0, "\n{o}");
    assert_eq!(count(requests, "errored"), 0, "\n{o}");
    assert_eq!(count(requests, "timeout"), 0, "\n{o}");
    // "status codes: 20000 2xx, 0 3xx, 0 4xx, 0 5xx"
    let codes = field(o, "status codes").unwrap_or_else(|| panic!("no status codes line\n{o}"));
    assert_eq!(
        count(codes, "2xx"),
        20000,
        "every response must be 2xx\n{o}"
    );
    assert_eq!(count(codes, "4xx") + count(codes, "5xx"), 0, "\n{o}");
}

#[test]
fn wrk_short_run_without_errors() {
    let server = Server::start();
    let out = run(
        "wrk",
        &["-t1", "-c32", "-d2s", &server.url("/plaintext")],
        Duration::from_secs(30),
    );
    assert!(out.success, "wrk failed\n{}", out.describe());
    let o = &out.stdout;
    // wrk prints these lines only when there is something to count.
    assert!(!o.contains("Socket errors"), "wrk saw socket errors\n{o}");
    assert!(!o.contains("Non-2xx"), "wrk saw non-2xx responses\n{o}");
    let requests: u64 = o
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'N requests in' line\n{o}"));
    assert!(
        requests >= 1000,
        "only {requests} requests in 2 s on 32 connections\n{o}"
    );
}
