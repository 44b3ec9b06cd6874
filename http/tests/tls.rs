//! HTTPS through the server library, beyond the behaviour suite (which `behaviour_tls`
//! runs over TLS): hostile or broken clients during the handshake, truncation (a TCP EOF
//! without `close_notify`), `close_notify` on a graceful close, and the write timeout.
//! Each bad client is checked against a good one served at the same time.

#[path = "common/mod.rs"]
mod common;

/// The common client speaks TLS here.
pub const OVER_TLS: bool = true;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use coreline_http::{Limits, Timeouts};
use coreline_tls::rustls::{self, pki_types::ServerName, ClientConnection};

use common::transport::{client_config, Stream};
use common::{still_serves, Client, Running};

const HANDSHAKE: Duration = Duration::from_millis(500);

fn server(timeouts: Timeouts) -> Running {
    common::start(Limits::default(), timeouts.tls_handshake(HANDSHAKE))
}

/// The first flight of a real client: a ClientHello.
fn client_hello() -> Vec<u8> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(client_config(), name).unwrap();
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).unwrap();
    }
    assert_eq!(out[0], 22, "a handshake record");
    out
}

/// Reads a raw socket until the server closes it (EOF or reset); panics if it is still
/// open after `limit`. Returns what arrived and when the close came.
fn until_closed(sock: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    sock.set_read_timeout(Some(limit)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("connection still open after {limit:?}")
            }
            Err(_) => break, // reset: closed too
        }
    }
    (all, start.elapsed())
}

fn raw(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).unwrap()
}

#[test]
fn plain_http_sent_to_the_tls_port_is_closed_without_an_http_answer() {
    let s = server(Timeouts::default());
    let mut sock = raw(s.addr);
    sock.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (got, took) = until_closed(&mut sock, Duration::from_secs(3));
    assert!(
        took < HANDSHAKE,
        "closed at once, not by the timeout: {took:?}"
    );
    assert!(
        !got.starts_with(b"HTTP/"),
        "no HTTP response over the TLS port"
    );
    still_serves(s.addr);
}

#[test]
fn a_truncated_client_hello_is_closed() {
    let s = server(Timeouts::default());
    let hello = client_hello();
    // Cut short, then the client's FIN: closed at once.
    let mut sock = raw(s.addr);
    sock.write_all(&hello[..hello.len() / 2]).unwrap();
    sock.shutdown(Shutdown::Write).unwrap();
    let (_, took) = until_closed(&mut sock, Duration::from_secs(3));
    assert!(took < HANDSHAKE, "{took:?}");
    // Cut short and the client waits: closed by the handshake timeout.
    let mut sock = raw(s.addr);
    sock.write_all(&hello[..10]).unwrap();
    let (got, took) = until_closed(&mut sock, Duration::from_secs(5));
    assert!(got.is_empty(), "nothing to answer yet: {got:?}");
    assert!(
        took >= HANDSHAKE - Duration::from_millis(50) && took < Duration::from_secs(3),
        "closed by the handshake timeout: {took:?}"
    );
    // A record header that claims a huge length: refused, not waited for.
    let mut sock = raw(s.addr);
    sock.write_all(&[22, 3, 1, 0xff, 0xff, 1, 0, 0]).unwrap();
    let (_, took) = until_closed(&mut sock, Duration::from_secs(3));
    assert!(took < HANDSHAKE, "{took:?}");
    still_serves(s.addr);
}

#[test]
fn a_client_that_stops_mid_handshake_is_closed_after_the_timeout_while_others_are_served() {
    let s = server(Timeouts::default());
    let mut stalled = raw(s.addr);
    stalled.write_all(&client_hello()).unwrap();
    // The server answers (ServerHello ...), then waits for the client's next flight.
    let mut first = [0u8; 5];
    stalled
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    stalled.read_exact(&mut first).unwrap();
    assert_eq!(first[0], 22, "a handshake record from the server");
    let started = Instant::now();
    // Meanwhile another client is served, repeatedly, on the same core.
    let mut good = Client::connect(s.addr);
    let mut served = 0;
    while started.elapsed() < HANDSHAKE / 2 {
        good.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(good.response(false).body_str(), "Hello, World!");
        served += 1;
    }
    assert!(served > 1);
    let (_, _) = until_closed(&mut stalled, Duration::from_secs(5));
    let took = started.elapsed();
    assert!(
        took >= HANDSHAKE - Duration::from_millis(100) && took < Duration::from_secs(3),
        "closed by the handshake timeout: {took:?}"
    );
    // The good connection is still open and served.
    good.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(good.response(false).status, 200);
}

/// Sends `bytes` over TLS, then ends the TCP stream *without* `close_notify`.
fn send_then_truncate(addr: SocketAddr, bytes: &[u8]) -> Client {
    let mut c = Client::connect(addr);
    c.send(bytes);
    c.stream.flush().unwrap();
    c.stream.tcp().shutdown(Shutdown::Write).unwrap();
    c
}

#[test]
fn a_truncated_request_body_is_never_taken_as_complete() {
    let s = server(Timeouts::default());
    let mut c = send_then_truncate(
        s.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello",
    );
    if let Some(r) = c.try_response(false) {
        assert_ne!(r.status, 200, "a cut body must not be echoed: {}", r.head);
    }
    // A chunked body cut after a chunk, before its last-chunk: not complete either.
    let mut c = send_then_truncate(
        s.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    if let Some(r) = c.try_response(false) {
        assert_ne!(r.status, 200, "a cut body must not be echoed: {}", r.head);
    }
    still_serves(s.addr);
}

#[test]
fn a_complete_request_before_a_truncation_is_still_answered() {
    let s = server(Timeouts::default());
    let mut c = send_then_truncate(s.addr, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(false);
    assert_eq!((r.status, r.body_str()), (200, "Hello, World!"));
}

/// Reads to the end of the TLS stream: `Ok` only for a clean end (`close_notify`).
fn read_to_end(c: &mut Client) -> std::io::Result<Vec<u8>> {
    let mut rest = Vec::new();
    c.stream.read_to_end(&mut rest).map(|_| rest)
}

#[test]
fn graceful_closes_send_close_notify() {
    let s = server(Timeouts::default().keep_alive(Duration::from_millis(300)));
    // After a `Connection: close` response.
    let mut c = Client::connect(s.addr);
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(c.response(false).status, 200);
    let rest = read_to_end(&mut c).expect("a clean TLS close (close_notify), not a truncation");
    assert!(rest.is_empty());
    // After the keep-alive timeout.
    let mut c = Client::connect(s.addr);
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(false).status, 200);
    let t = Instant::now();
    read_to_end(&mut c).expect("a clean TLS close after the keep-alive timeout");
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    // After an error response (lingering close).
    let mut c = Client::connect(s.addr);
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 400);
    read_to_end(&mut c).expect("close_notify after an error response");
}

#[test]
fn the_write_timeout_applies_over_tls() {
    let s = server(Timeouts::default().write(Duration::from_millis(300)));
    let mut c = Client::connect(s.addr);
    // 200 pipelined requests for 100 KiB each (20 MB of responses), and no reading.
    let one = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send(&one.repeat(200));
    std::thread::sleep(Duration::from_millis(1500));
    still_serves(s.addr); // others are served meanwhile
                          // Now drain: the server gave up long ago, so the stream ends early (and not cleanly:
                          // the stalled send could not be finished with close_notify).
    let Stream::Tls(tls) = &mut c.stream else {
        unreachable!()
    };
    tls.sock
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        match tls.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => got += n,
            Err(e) => break Err(e),
        }
    };
    assert!(
        !matches!(&end, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the connection must have been closed by the write timeout"
    );
    assert!(got < 200 * 100 * 1024, "not everything was sent: {got}");
}

#[test]
fn tls_12_and_13_both_serve() {
    let s = server(Timeouts::default());
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let roots = common::transport::test_roots();
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            coreline_tls::provider(),
        ))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, raw(s.addr));
        tls.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut all = Vec::new();
        tls.read_to_end(&mut all).unwrap();
        assert!(all.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(all.ends_with(b"Hello, World!"));
        assert_eq!(tls.conn.protocol_version(), Some(version.version));
    }
}
