//! Upstreams that fail: down (502), slow (504), smuggling-shaped (502), and more requests
//! than the per-core limit and queue take (503). Each failure is a short body and a
//! warning line in the log.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::served::Served;
use crate::{one, peer, proxy};

/// An address nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn get(front: &Served, path: &str) -> crate::common::Resp {
    one(
        front.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"),
    )
}

/// The server's stderr so far, after it is stopped.
fn log_of(mut front: Served) -> String {
    let _ = front.child.kill();
    let mut log = String::new();
    front
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

#[test]
fn an_upstream_that_is_down_is_a_502_and_a_warning() {
    let down = closed_port();
    let front = Served::start(&["--proxy", &format!("/=http://{down}")], Stdio::piped);
    let res = get(&front, "/x");
    assert_eq!((res.status, res.body_str()), (502, "bad gateway\n"));
    assert!(!res.closes(), "the client's connection is fine");
    let log = log_of(front);
    assert!(
        log.contains("WARN") && log.contains("answered 502") && log.contains("GET /x"),
        "{log}"
    );
}

#[test]
fn a_slow_upstream_is_a_504_after_the_proxy_timeout() {
    let silent = peer(|_| std::thread::sleep(Duration::from_secs(10)));
    let front = Served::start(
        &[
            "--proxy",
            &format!("/=http://{silent}"),
            "--proxy-timeout",
            "0.5",
        ],
        Stdio::piped,
    );
    let start = Instant::now();
    let res = get(&front, "/slow");
    assert_eq!((res.status, res.body_str()), (504, "upstream timed out\n"));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let log = log_of(front);
    assert!(log.contains("answered 504"), "{log}");
}

#[test]
fn a_smuggling_shaped_response_is_a_502() {
    let smuggler = peer(|s| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
        );
        std::thread::sleep(Duration::from_secs(2));
    });
    let front = proxy(&[format!("/=http://{smuggler}")], &[]);
    let res = get(&front, "/");
    assert_eq!((res.status, res.body_str()), (502, "bad gateway\n"));
    assert!(!res.body_str().contains("evil"));
}

#[test]
fn over_the_limit_and_queue_is_a_503_at_once() {
    let slow = peer(|s| {
        std::thread::sleep(Duration::from_millis(1500));
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
    });
    let front = proxy(
        &[format!("/=http://{slow}")],
        &["--proxy-max-connections", "1", "--proxy-queue", "1"],
    );
    let addr = front.addr;
    let first = std::thread::spawn(move || one(addr, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::thread::sleep(Duration::from_millis(300));
    let queued = std::thread::spawn(move || one(addr, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let refused = get(&front, "/3");
    assert_eq!(
        (refused.status, refused.body_str()),
        (503, "upstream busy\n")
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "at once, not after the wait"
    );
    assert_eq!(first.join().unwrap().body_str(), "slow");
    assert_eq!(
        queued.join().unwrap().body_str(),
        "slow",
        "the queued one waited"
    );
}

#[test]
fn proxy_tuning_needs_a_route_and_bad_rules_are_refused() {
    let bin = env!("CARGO_BIN_EXE_coreline");
    for args in [
        &["--proxy-host", "keep"][..],
        &["--proxy", "api=http://127.0.0.1:1"][..],
        &["--proxy", "/=ftp://127.0.0.1:1"][..],
        &["--proxy", "/=http://127.0.0.1:1", "--proxy-host", "other"][..],
        &["--proxy", "/=http://127.0.0.1:1", "--proxy-timeout", "0"][..],
    ] {
        let out = std::process::Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("proxy"), "{args:?}: {err}");
    }
}

#[test]
fn an_upstream_closing_pooled_connections_is_retried_for_get_only() {
    // One keep-alive response per connection, then a close (as an upstream with a short
    // idle timeout does while the connection sits in the proxy's pool).
    let closer = peer(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        std::thread::sleep(Duration::from_millis(50));
    });
    let front = proxy(&[format!("/=http://{closer}")], &[]);
    for i in 0..3 {
        std::thread::sleep(Duration::from_millis(150));
        let res = get(&front, &format!("/{i}"));
        assert_eq!((res.status, res.body_str()), (200, "ok"), "GET {i}");
    }
    std::thread::sleep(Duration::from_millis(150));
    let post = one(
        front.addr,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
    );
    assert_eq!(post.status, 502, "a POST is never sent twice");
}
