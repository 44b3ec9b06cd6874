//! Attack: 1,000 silent TCP connects to the TLS port of a one-core server (connect, send
//! nothing, keep the socket open). Each would hold an fd, a task and a rustls session until
//! the handshake timeout; here the handshake cap closes the oldest, and meanwhile a fresh
//! client is served over plain HTTP (200 requests, latency measured against a baseline
//! taken before the attack) and over TLS with real handshakes.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;

/// The shared test helpers' switch: the fresh client's 200 requests are plain HTTP.
pub const OVER_TLS: bool = false;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use coreline_http::Limits;
use coreline_tls::rustls::{self, ClientConnection, StreamOwned};

use common::transport::client_config;

const ATTACKERS: usize = 1000;
const MAX_HANDSHAKES: usize = 256;
const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Starts a one-core server with a plain and a TLS listener and metrics on.
fn start(limits: Limits) -> (common::Running, SocketAddr) {
    coreline_http::raise_fd_limit().expect("raise RLIMIT_NOFILE");
    let server = common::transport::plain_and_tls_builder()
        .limits(limits)
        .build(|| common::test_handler)
        .expect("build server");
    let tls = server.tls_local_addrs()[0];
    (common::run_on_thread(server), tls)
}

/// One request on a new plain connection; its latency in µs.
fn fresh_request(addr: SocketAddr) -> u64 {
    let t = Instant::now();
    let mut c = TcpStream::connect(addr).expect("fresh client connects");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(GET).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("fresh client served");
    assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    t.elapsed().as_micros() as u64
}

fn p99(addr: SocketAddr) -> u64 {
    let mut l: Vec<u64> = (0..200).map(|_| fresh_request(addr)).collect();
    l.sort_unstable();
    l[l.len() * 99 / 100]
}

/// A request over TLS with a full handshake (rustls client), on a new connection.
fn tls_request(addr: SocketAddr) -> Vec<u8> {
    let tcp = TcpStream::connect(addr).expect("TLS client connects");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let conn = ClientConnection::new(client_config(), name).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(GET).expect("TLS handshake and request");
    let mut got = Vec::new();
    let _ = tls.read_to_end(&mut got); // (ends with close_notify or EOF)
    got
}

/// Opens `n` connections that send nothing.
fn silent_connects(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| TcpStream::connect(addr).expect("attacker connects"))
        .collect()
}

/// How many of `conns` the server closed (EOF or reset seen without blocking).
fn closed_by_server(conns: &[TcpStream]) -> usize {
    conns
        .iter()
        .filter(|c| {
            c.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            match c.peek(&mut b) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => e.kind() != ErrorKind::WouldBlock,
            }
        })
        .count()
}

fn open_connections(server: &common::Running) -> u64 {
    let s = common::metrics::snapshot(server);
    s.cores.iter().map(|c| c.connections_open).sum()
}

#[test]
fn silent_tls_connects_are_capped_and_others_are_served() {
    let (server, tls) = start(Limits::default().max_handshakes_per_core(MAX_HANDSHAKES));
    let baseline = p99(server.addr);
    let attackers = silent_connects(tls, ATTACKERS);
    // The core has accepted them all once the cap has closed the excess (a fixed sleep
    // was not enough under two CPU hogs).
    common::metrics::eventually(Duration::from_secs(30), || {
        closed_by_server(&attackers) >= ATTACKERS - MAX_HANDSHAKES
    });
    let during = p99(server.addr);
    for _ in 0..5 {
        let got = tls_request(tls);
        assert!(
            got.starts_with(b"HTTP/1.1 200"),
            "TLS client served: {got:?}"
        );
    }
    let snap = common::metrics::snapshot(&server);
    let buffers = &snap.cores[0].buffers;
    // The attackers hold their connections throughout; the fresh clients' last connection
    // may still be closing when a snapshot is taken (one over the cap was seen under CPU
    // hogs), so the count is awaited. Without the cap it would stay near 1,000.
    common::metrics::eventually(Duration::from_secs(10), || {
        open_connections(&server) <= MAX_HANDSHAKES as u64
    });
    let open = open_connections(&server);
    let refused = closed_by_server(&attackers);
    eprintln!(
        "silent TLS: p99 baseline {baseline} µs, during {during} µs; refused {refused} of \
         {ATTACKERS}; open {open}; ring buffers in use {} of {}",
        buffers.in_use, buffers.total
    );
    assert!(
        refused >= ATTACKERS - MAX_HANDSHAKES,
        "the handshake cap closes the excess: {refused} closed"
    );
    assert!(
        open <= MAX_HANDSHAKES as u64,
        "pending handshakes count as open connections, at most the cap: {open}"
    );
    let bound = (5 * baseline).max(20_000);
    assert!(
        during < bound,
        "p99 {during} µs under the attack (bound {bound} µs)"
    );
    assert!(buffers.in_use < buffers.total / 2, "{buffers:?}");
    drop(attackers);
    server.stop().unwrap();
}

#[test]
fn tls_connections_count_against_the_connection_limit_from_accept() {
    let (server, tls) = start(
        Limits::default()
            .max_connections_per_core(50)
            .max_handshakes_per_core(0),
    );
    let attackers = silent_connects(tls, 200);
    common::metrics::eventually(Duration::from_secs(30), || {
        closed_by_server(&attackers) >= 150
    });
    let refused = closed_by_server(&attackers);
    assert!(
        refused >= 150,
        "over the limit, silent TLS connects are closed: {refused}"
    );
    assert!(open_connections(&server) <= 50);
    drop(attackers);
    // The slots come back as the silent ones go.
    assert!(common::metrics::eventually(Duration::from_secs(5), || {
        open_connections(&server) == 0
    }));
    assert!(tls_request(tls).starts_with(b"HTTP/1.1 200"));
    server.stop().unwrap();
}
