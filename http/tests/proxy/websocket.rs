//! WebSocket through the proxy: a Python `websockets` client and echo server on either
//! side (both ways, text and a 1 MiB binary message, the close handshake); an idle pipe
//! closed after `--proxy-timeout`; upstreams that refuse the upgrade; and idle pipes that
//! must not starve a fresh client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::python_upstream::{self, Python};
use crate::{one, proxy, run, start_python};

/// Debian's Python, where `ci/test.sh` installs `websockets` (python3-websockets).
const PYTHON: &str = "/usr/bin/python3";

fn start_ws_upstream() -> Python {
    python_upstream::start_with(PYTHON, "ws_echo_upstream.py")
}

fn ws_client(url: &str, mode: &str) -> String {
    let script = format!("{}/tests/scripts/ws_client.py", env!("CARGO_MANIFEST_DIR"));
    run(PYTHON, &[&script, url, mode])
}

/// A WebSocket opening handshake (RFC 6455 §1.3's sample key).
fn handshake(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Reads a response head off `stream`.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("a response head");
        assert_eq!(
            n,
            1,
            "closed inside the head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn a_websocket_echo_goes_both_ways_through_the_proxy() {
    let ws = start_ws_upstream();
    let front = proxy(&[format!("/ws/=http://127.0.0.1:{}/", ws.port)], &[]);
    let url = format!("ws://{}/ws/chat", front.addr);
    assert_eq!(
        ws_client(&url, "echo").trim(),
        "ok 1000",
        "closed with 1000 (normal)"
    );
}

#[test]
fn an_idle_upgraded_pipe_is_closed_after_the_proxy_timeout() {
    let ws = start_ws_upstream();
    let front = proxy(
        &[format!("/ws/=http://127.0.0.1:{}/", ws.port)],
        &["--proxy-timeout", "1"],
    );
    let url = format!("ws://{}/ws/idle", front.addr);
    let secs: f64 = ws_client(&url, "idle").trim().parse().unwrap();
    assert!(
        (0.9..5.0).contains(&secs),
        "closed after {secs} s of silence (timeout 1 s)"
    );
}

#[test]
fn upstreams_refusing_the_upgrade_are_passed_through() {
    // An HTTP upstream that ignores Upgrade answers 200, and the connection stays HTTP.
    let python = start_python();
    let ws = start_ws_upstream();
    let front = proxy(
        &[
            format!("/py/=http://127.0.0.1:{}/", python.port),
            format!("/ws/=http://127.0.0.1:{}/", ws.port),
        ],
        &[],
    );
    let res = one(front.addr, &handshake("/py/headers"));
    assert_eq!(res.status, 200, "{}", res.head);
    let seen = res.body_str().to_ascii_lowercase();
    assert!(
        seen.contains(r#"["upgrade", "websocket"]"#),
        "the upstream was asked for the upgrade: {seen}"
    );
    assert!(res.header("upgrade").is_none(), "{}", res.head);

    // A WebSocket server refusing a bad handshake answers an HTTP error.
    let bad = "GET /ws/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: upgrade\r\n\
               Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let res = one(front.addr, bad);
    assert!(
        (400..500).contains(&res.status),
        "the upstream's refusal passes through: {}",
        res.head
    );
}

#[test]
fn idle_upgraded_pipes_do_not_starve_a_fresh_client() {
    const PIPES: usize = 1_000;
    let python = start_python();
    let ws = start_ws_upstream();
    let front = proxy(
        &[
            format!("/py/=http://127.0.0.1:{}/", python.port),
            format!("/ws/=http://127.0.0.1:{}/", ws.port),
        ],
        &["--proxy-timeout", "2"],
    );
    let mut pipes: Vec<TcpStream> = (0..PIPES)
        .map(|_| {
            let mut s = TcpStream::connect(front.addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(handshake("/ws/idle").as_bytes()).unwrap();
            s
        })
        .collect();
    for s in &mut pipes {
        let head = read_head(s);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("connection: upgrade"),
            "{head}"
        );
    }
    let started = Instant::now();
    let res = one(front.addr, "GET /py/file HTTP/1.1\r\nHost: x\r\n\r\n");
    let took = started.elapsed();
    assert_eq!(res.status, 200);
    assert!(
        took < Duration::from_millis(500),
        "a fresh client waited {took:?} beside {PIPES} idle pipes"
    );
    // The idle timeout ends every pipe (EOF, or a reset once the upstream side closed).
    let deadline = Instant::now() + Duration::from_secs(8);
    for s in &mut pipes {
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "a silent pipe gets no bytes, only its close");
    }
    assert!(
        Instant::now() < deadline,
        "all pipes closed by the idle timeout"
    );
}
