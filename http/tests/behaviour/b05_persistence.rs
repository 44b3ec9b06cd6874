//! 5. Persistence, timeouts, request limits, pipelining, lingering close.

use std::io::Write;
use std::time::{Duration, Instant};

use coreline_http::{Limits, Timeouts};

use crate::addr;
use crate::common::{start, Client};

const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn http11_is_persistent_unless_connection_close() {
    let mut c = Client::connect(addr());
    for _ in 0..3 {
        c.send(GET);
        let r = c.response(false);
        assert_eq!(r.status, 200);
        assert!(r.header("connection").is_none(), "{}", r.head);
    }
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(c.response(false).closes());
    assert!(c.closed_within(Duration::from_secs(2)));
}

#[test]
fn http10_persists_only_with_keep_alive_which_is_echoed() {
    let mut c = Client::connect(addr());
    for _ in 0..2 {
        c.send(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), Some("keep-alive"));
    }
    c.send(b"GET /plaintext HTTP/1.0\r\n\r\n");
    assert!(c.response(false).closes());
    assert!(c.closed_within(Duration::from_secs(2)));
}

#[test]
fn handler_asking_to_close_closes() {
    let mut c = Client::connect(addr());
    c.send(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(false);
    assert!(r.closes(), "{}", r.head);
    assert!(c.closed_within(Duration::from_secs(2)));
}

#[test]
fn pipelined_requests_are_answered_in_order_in_one_send() {
    let mut c = Client::connect(addr());
    let mut batch = Vec::new();
    for path in ["/plaintext", "/status/404", "/echo", "/plaintext"] {
        let body = if path == "/echo" {
            "Content-Length: 3\r\n\r\nabc"
        } else {
            "\r\n"
        };
        batch.extend_from_slice(format!("POST {path} HTTP/1.1\r\nHost: x\r\n{body}").as_bytes());
    }
    c.send(&batch);
    std::thread::sleep(Duration::from_millis(50));
    let first_read = c.read_once();
    let r: Vec<_> = (0..4).map(|_| c.response(false)).collect();
    assert_eq!(
        r.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 404, 200, 200]
    );
    assert_eq!(r[2].body_str(), "abc");
    let total: usize = r.iter().map(|r| r.head.len() + r.body.len()).sum();
    assert_eq!(
        first_read, total,
        "all four responses arrive in one read (one send)"
    );
}

#[test]
fn max_requests_per_connection() {
    let limits = Limits::default()
        .max_requests_per_connection(3);
    let server = start(limits, Timeouts::default());
    let mut c = Client::connect(server.addr);
    c.send(&GET.repeat(5));
    assert!(!c.response(false).closes());
    assert!(!c.response(false).closes());
    let third = c.response(false);
    assert!(third.closes(), "{}", third.head);
    assert!(c.closed_within(Duration::from_secs(3)));
}

fn short(timeouts: Timeouts) -> crate::common::Running {
    start(Limits::default(), timeouts)
}

#[test]
fn idle_keep_alive_timeout_closes_silently() {
    let server = short(Timeouts::default()
        .keep_alive(Duration::from_millis(300)));
    let mut c = Client::connect(server.addr);
    c.send(GET);
    assert_eq!(c.response(false).status, 200);
    let t = Instant::now();
    assert!(c.closed_within(Duration::from_secs(3)));
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(c.pending().is_empty(), "closed without a response");
}

#[test]
fn header_read_timeout_is_408_then_close() {
    let server = short(Timeouts::default()
        .header_read(Duration::from_millis(300)));
    let mut c = Client::connect(server.addr);
    c.send(b"GET /plaintext HTTP/1.1\r\nHost:");
    let t = Instant::now();
    let r = c.response(false);
    assert_eq!(r.status, 408);
    assert!(r.closes());
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert!(c.closed_within(Duration::from_secs(3)));
    // A connection that never sends anything is closed without a response.
    let mut silent = Client::connect(server.addr);
    assert!(silent.closed_within(Duration::from_secs(3)));
}

#[test]
fn body_read_timeout_is_408_then_close() {
    let server = short(Timeouts::default()
        .body_read(Duration::from_millis(300)));
    let mut c = Client::connect(server.addr);
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    let r = c.response(false);
    assert_eq!(r.status, 408);
    assert!(r.closes());
    assert!(c.closed_within(Duration::from_secs(3)));
}

#[test]
fn lingering_close_lets_the_client_read_the_error() {
    // The client keeps sending after a request the server refuses; without a lingering
    // close the unread bytes would make the kernel reset the connection and the client
    // could lose the response.
    let mut c = Client::connect(addr());
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    std::thread::sleep(Duration::from_millis(20));
    let junk = vec![b'x'; 256 * 1024];
    let _ = c.stream.write_all(&junk); // may fail once the server is gone; that's fine
    let r = c.response(false);
    assert_eq!(r.status, 400);
    assert!(r.closes());
}
