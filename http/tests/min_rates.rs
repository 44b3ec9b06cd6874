//! Minimum data rates and the first request's header timeout: a request body, the discard
//! of an unread body, and a response taken too slowly are ended once the grace has passed,
//! long before the per-wait timeouts (body read, write) would end them; and the header
//! timeout of a connection's first request runs from accept, not from its first byte.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use coreline_http::{response, Body, Limits, Server, Timeouts};
use coreline_runtime::Cores;
use http::{Request, Response, StatusCode};

/// A minimum rate well above what the tests' trickles give, a short grace, and per-wait
/// timeouts long enough that only the rate can end a trickle within the tests' bounds.
fn timeouts() -> Timeouts {
    Timeouts::default()
        .min_body_rate(240)
        .min_send_rate(1_000_000)
        .min_rate_grace(Duration::from_secs(1))
        .body_read(Duration::from_secs(30))
        .write(Duration::from_secs(30))
}

/// Bytes of `/huge`.
const HUGE: usize = 32 << 20;

/// `/huge`: a 32 MiB body; anything else goes to the shared test handler.
async fn handler(req: Request<Body>) -> Response<Body> {
    if req.uri().path() == "/huge" {
        return response(StatusCode::OK, Body::from(vec![b'h'; HUGE]));
    }
    common::test_handler(req).await
}

fn start(timeouts: Timeouts) -> common::Running {
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .limits(Limits::default())
        .timeouts(timeouts)
        .build(|| handler)
        .expect("build server");
    common::run_on_thread(server)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    c
}

/// What a trickling client saw.
#[derive(Debug)]
struct Trickled {
    /// The response head's status line, if one came.
    status: Option<String>,
    /// When the response (or the close) came, from the first byte sent.
    after: Duration,
    /// Bytes of `rest` sent before it came.
    sent: usize,
}

/// Sends `head`, then `rest` one byte every `every`, until the server answers or closes
/// (or `limit` passes).
fn trickle(
    addr: SocketAddr,
    head: &[u8],
    rest: &[u8],
    every: Duration,
    limit: Duration,
) -> Trickled {
    let mut c = connect(addr);
    let start = Instant::now();
    c.write_all(head).unwrap();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut next = Instant::now();
    loop {
        if start.elapsed() > limit {
            return Trickled {
                status: None,
                after: start.elapsed(),
                sent,
            };
        }
        if Instant::now() >= next && sent < rest.len() {
            if c.write_all(&rest[sent..sent + 1]).is_err() {
                break;
            }
            sent += 1;
            next += every;
        }
        let mut buf = [0u8; 4096];
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if common::find(&got, b"\r\n").is_some() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let status =
        common::find(&got, b"\r\n").map(|i| String::from_utf8_lossy(&got[..i]).into_owned());
    Trickled {
        status,
        after: start.elapsed(),
        sent,
    }
}

/// One byte every 300 ms is about 3 bytes/s, far below 240: cut after the 1 s grace (plus
/// the sweep), not after the 30 s body-read timeout that each byte would restart.
fn assert_cut_by_rate(t: &Trickled) {
    assert_eq!(
        t.status.as_deref(),
        Some("HTTP/1.1 408 Request Timeout"),
        "the slow body is answered 408: {t:?}"
    );
    assert!(
        t.after < Duration::from_secs(6),
        "cut by the rate after the grace, not by a timeout: {t:?}"
    );
    assert!(t.sent >= 2, "the body did trickle for a while first: {t:?}");
}

#[test]
fn a_trickled_body_is_408_after_the_grace() {
    let server = start(timeouts());
    let t = trickle(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
        &[b'b'; 100],
        Duration::from_millis(300),
        Duration::from_secs(20),
    );
    assert_cut_by_rate(&t);
    common::still_serves(server.addr);
}

#[test]
fn a_trickled_discard_is_408_after_the_grace() {
    // The handler answers without reading; the server discards the body to keep the
    // connection, and a trickle must not hold it there.
    let server = start(timeouts());
    let t = trickle(
        server.addr,
        b"POST /noread HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
        &[b'b'; 1000],
        Duration::from_millis(300),
        Duration::from_secs(20),
    );
    assert_cut_by_rate(&t);
}

#[test]
fn trickled_chunk_extensions_count_toward_the_rate() {
    // Framing bytes only, no data: every byte counts, and they are too slow.
    let server = start(timeouts());
    let t = trickle(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;",
        &[b'e'; 1000],
        Duration::from_millis(300),
        Duration::from_secs(20),
    );
    assert_cut_by_rate(&t);
}

#[test]
fn a_body_at_a_fair_rate_is_served() {
    // 900 bytes in 30 pieces over 1.5 s: well above 240 bytes/s after the 1 s grace.
    let server = start(timeouts());
    let mut c = connect(server.addr);
    c.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n")
        .unwrap();
    for _ in 0..30 {
        c.write_all(&b"abc".repeat(10)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(&b"abc".repeat(300)) {
        let n = c.read(&mut buf).expect("a response");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

#[test]
fn a_client_that_takes_a_response_too_slowly_is_closed_after_the_grace() {
    let server = start(timeouts());
    let mut c = connect(server.addr);
    c.write_all(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let start = Instant::now();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    // About 5 KB/s for 8 s: each read lets a send progress now and then, restarting the
    // 30 s write timeout, but it is far below the 1 MB/s minimum.
    while start.elapsed() < Duration::from_secs(8) {
        match c.read(&mut buf[..1024]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The server gave up by now (after the 1 s grace plus what the socket buffers took
    // at once, a few MB at 1 MB/s). Its close waits behind the data already in the
    // socket buffer: reading at full speed finds the end well short of the body. A server
    // still sending would deliver all of it and keep the connection open.
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ended = loop {
        match c.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(_) => break false, // still open after 5 s of silence
        }
    };
    assert!(ended, "the slow reader was closed (got {got} bytes)");
    assert!(got < HUGE, "before the end of the response ({got} bytes)");
    common::still_serves(server.addr);
}

#[test]
fn a_client_that_reads_at_full_speed_gets_the_whole_response() {
    let server = start(timeouts());
    let mut c = connect(server.addr);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /huge HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).expect("the whole response");
    let body = common::find(&all, b"\r\n\r\n").expect("a head") + 4;
    assert_eq!(all.len() - body, HUGE);
}

#[test]
fn rates_of_zero_turn_the_minimums_off() {
    let server = start(
        timeouts()
            .min_body_rate(0)
            .body_read(Duration::from_secs(3)),
    );
    // At one byte per 300 ms the body outlives the grace; only the body-read timeout
    // (3 s per wait, restarted by each byte) could end it, and it does not.
    let t = trickle(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n",
        &[b'b'; 12],
        Duration::from_millis(300),
        Duration::from_secs(20),
    );
    assert_eq!(t.status.as_deref(), Some("HTTP/1.1 200 OK"), "{t:?}");
}

#[test]
fn the_first_header_timeout_runs_from_accept() {
    let header = Duration::from_secs(2);
    let server = start(Timeouts::default().header_read(header));
    let mut c = connect(server.addr);
    let accepted = Instant::now();
    // One byte shortly before the header timeout, then nothing.
    std::thread::sleep(header - Duration::from_millis(400));
    let first_byte = Instant::now();
    c.write_all(b"G").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    let n = c.read(&mut buf).unwrap_or(0);
    let answered = Instant::now();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 408 "),
        "a partial head gets 408: {:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    // From accept: about 2 s. Restarted at the first byte it would be 3.6 s; the margin
    // between (half the header timeout after the byte) absorbs a loaded machine's delays.
    assert!(
        answered < first_byte + header / 2,
        "408 came {:?} after accept, {:?} after the first byte (header timeout {header:?})",
        answered - accepted,
        answered - first_byte
    );
}
