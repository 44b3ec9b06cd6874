//! Server-side upgrades with a raw TCP peer: the `101` and the bytes that came with the
//! request head, echo both ways and the half-close; answers other than `101` keep the
//! connection HTTP; a `101` nobody offered is a 500; the upgraded connection counts
//! against the connection limit until it is dropped; graceful shutdown ends it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use coreline_http::upgrade::{self, Upgraded};
use coreline_http::{Body, Limits, Server};
use coreline_runtime::Cores;
use http::header::{HeaderValue, UPGRADE};
use http::{Request, Response, StatusCode};

#[path = "common/mod.rs"]
mod common;

/// The tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

/// `OnUpgrade`s that resolved to an error (the answer was not a 101).
static REFUSED: AtomicUsize = AtomicUsize::new(0);

async fn echo(mut io: Upgraded) -> std::io::Result<()> {
    while let Some(bytes) = io.read().await? {
        io.write_all(bytes).await?;
    }
    io.shutdown_write().await
}

/// `/echo` upgrades to an echo; `/refuse` answers 200 to the same request; `/bogus`
/// answers 101 whatever the request.
fn handler(mut req: Request<Body>) -> Response<Body> {
    let on_upgrade = upgrade::on(&mut req);
    let path = req.uri().path().to_owned();
    coreline_runtime::spawn_local(async move {
        match on_upgrade.await {
            Ok(io) => drop(echo(io).await),
            Err(_) => drop(REFUSED.fetch_add(1, Ordering::SeqCst)),
        }
    });
    let mut res = Response::new(Body::from_static(b"plain answer"));
    if path != "/refuse" {
        *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        res.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("echo"));
    }
    res
}

fn start(limits: Limits) -> common::Running {
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .limits(limits)
        .build(|| |req| std::future::ready(handler(req)))
        .unwrap();
    common::run_on_thread(server)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

const UPGRADE_REQUEST: &str =
    "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n\r\n";

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "closed inside the head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap().to_ascii_lowercase()
}

fn read_exactly(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// Upgrades a new connection to the echo.
fn upgraded(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(UPGRADE_REQUEST.as_bytes()).unwrap();
    let head = read_head(&mut s);
    assert!(
        head.starts_with("http/1.1 101 switching protocols\r\n"),
        "{head}"
    );
    s
}

#[test]
fn an_upgraded_connection_echoes_both_ways_with_the_early_bytes_and_half_close() {
    let server = start(Limits::default());
    let mut s = connect(server.addr);
    // The first bytes of the new protocol come with the request head.
    s.write_all(format!("{UPGRADE_REQUEST}early").as_bytes())
        .unwrap();
    let head = read_head(&mut s);
    assert!(
        head.starts_with("http/1.1 101 switching protocols\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nconnection: upgrade\r\n"), "{head}");
    assert!(head.contains("\r\nupgrade: echo\r\n"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert_eq!(read_exactly(&mut s, 5), b"early");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut writer = s.try_clone().unwrap();
    let sent = big.clone();
    let sending = std::thread::spawn(move || writer.write_all(&sent).unwrap());
    assert_eq!(read_exactly(&mut s, big.len()), big);
    sending.join().unwrap();
    // Our half-close ends the echo, which closes its side after it.
    s.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn other_answers_keep_the_connection_http_and_a_101_nobody_offered_is_a_500() {
    let server = start(Limits::default());
    let mut c = common::Client::connect(server.addr);
    let before = REFUSED.load(Ordering::SeqCst);
    c.send(b"GET /refuse HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n");
    let res = c.response(false);
    assert_eq!((res.status, res.body_str()), (200, "plain answer"));
    assert!(!res.closes());
    // A 101 to a request that did not ask for an upgrade is the handler's bug.
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(false).status, 500);
    // So is one to a request with a body: its bytes are not the new protocol's.
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(c.response(false).status, 500);
    c.send(b"GET /refuse HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(false).status, 200, "still HTTP");
    assert!(
        REFUSED.load(Ordering::SeqCst) >= before + 3,
        "their OnUpgrades failed"
    );
}

#[test]
fn an_upgraded_connection_counts_against_the_limit_until_it_is_dropped() {
    let mut limits = Limits::default();
    limits.max_connections_per_core = 1;
    let server = start(limits);
    let mut first = upgraded(server.addr);
    first.write_all(b"ping").unwrap();
    assert_eq!(read_exactly(&mut first, 4), b"ping");
    let (res, _) = common::one(server.addr, b"GET /refuse HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        res.status, 503,
        "the upgraded connection holds the only slot"
    );
    first.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    first.read_to_end(&mut rest).unwrap();
    // The slot is free once the Upgraded is dropped (just after our read of its close).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (res, _) = common::one(server.addr, b"GET /refuse HTTP/1.1\r\nHost: x\r\n\r\n");
        if res.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never given back");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn graceful_shutdown_ends_an_upgraded_connection() {
    let server = start(Limits::default());
    let mut s = upgraded(server.addr);
    s.write_all(b"x").unwrap();
    assert_eq!(read_exactly(&mut s, 1), b"x");
    let started = Instant::now();
    server.stop().unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest); // EOF or reset
    assert!(rest.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "shutdown took {:?}",
        started.elapsed()
    );
}
