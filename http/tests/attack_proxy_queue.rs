//! Attack on the proxy's per-core upstream limit: 1,000 cheap clients each send one
//! request to a proxied route whose upstream holds every request (64 exchanges at once
//! and 256 waiting per core). The 680 beyond both are answered 503 at once; meanwhile a
//! fresh client of a route that is not proxied is served as fast as before, and a
//! fresh proxied request is refused at once too. Once the upstream answers, the 320 held
//! and queued get their 200s, a fresh proxied request is served, and nothing leaks: the
//! server's and the upstream's connections return to zero, and a second wave of 320
//! finds every permit and queue place free again.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "common/gated_upstream.rs"]
mod gated_upstream;
#[path = "common/stalled.rs"]
mod stalled;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::time::{Duration, Instant};

use common::metrics::eventually;
use coreline_http::{raise_fd_limit, Timeouts};
use gated_upstream::{connections_open, serve_proxy, Pending, Upstream};

const ATTACKERS: usize = 1_000;
const MAX: usize = 64;
const QUEUE: usize = 256;

/// Sends `n` requests to the proxied route; waits until the upstream holds `MAX`.
fn wave(addr: std::net::SocketAddr, upstream: &Upstream, n: usize) -> Vec<Pending> {
    let clients: Vec<Pending> = (0..n)
        .map(|i| Pending::send(addr, &format!("/up/{i}")))
        .collect();
    assert!(
        eventually(Duration::from_secs(10), || upstream.held() == MAX),
        "the upstream holds {} requests, not {MAX}",
        upstream.held()
    );
    clients
}

/// Polls `clients` until `want` of them have a complete response (or `limit` passes);
/// returns the responses, one per client (`None`: nothing complete yet).
fn answers(clients: &mut [Pending], want: usize, limit: Duration) -> Vec<Option<(u16, String)>> {
    let mut got = Vec::new();
    eventually(limit, || {
        got = clients.iter_mut().map(Pending::poll).collect();
        got.iter().flatten().count() >= want
    });
    got
}

fn count(answers: &[Option<(u16, String)>], status: u16) -> usize {
    answers
        .iter()
        .flatten()
        .filter(|(s, _)| *s == status)
        .count()
}

#[test]
fn a_thousand_requests_to_a_held_upstream_get_503_beyond_the_queue_and_nothing_leaks() {
    raise_fd_limit().expect("raise RLIMIT_NOFILE");
    let upstream = Upstream::start();
    let server = serve_proxy(upstream.addr, MAX, QUEUE, Timeouts::default());
    let baseline = stalled::fresh_latencies(server.addr, "/plaintext", 200).unwrap();

    let started = Instant::now();
    let mut attackers = wave(server.addr, &upstream, ATTACKERS);
    let refused = ATTACKERS - MAX - QUEUE;
    let early = answers(&mut attackers, refused, Duration::from_secs(10));
    let took = started.elapsed();
    assert_eq!(count(&early, 503), refused, "503s while the upstream holds");
    assert_eq!(early.iter().flatten().count(), refused, "only 503s so far");
    assert!(
        early
            .iter()
            .flatten()
            .all(|(_, body)| body == "upstream busy\n"),
        "the proxy's 503 body"
    );
    assert!(took < Duration::from_secs(10), "the 503s took {took:?}");

    let during = stalled::fresh_latencies(server.addr, "/plaintext", 200)
        .expect("a route that is not proxied is served during the attack");
    let (before, under) = (stalled::p99(&baseline), stalled::p99(&during));
    eprintln!("fresh client p99: {before} µs before, {under} µs during the attack");
    assert!(
        under < stalled::p99_bound(before),
        "p99 {under} µs vs {before} µs before"
    );
    let t = Instant::now();
    let mut busy = [Pending::send(server.addr, "/up/fresh")];
    let refused_fresh = answers(&mut busy, 1, Duration::from_secs(5));
    assert_eq!(refused_fresh[0].as_ref().map(|(s, _)| *s), Some(503));
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "a full queue answers at once"
    );

    upstream.gate(true);
    let all = answers(&mut attackers, ATTACKERS, Duration::from_secs(30));
    assert_eq!(
        count(&all, 200),
        MAX + QUEUE,
        "the held and queued are served"
    );
    assert!(all.iter().flatten().all(|(s, b)| *s == 503 || b == "ok"));
    let t = Instant::now();
    let mut after = [Pending::send(server.addr, "/up/after")];
    let served_fresh = answers(&mut after, 1, Duration::from_secs(5));
    assert_eq!(served_fresh[0].as_ref().map(|(s, _)| *s), Some(200));
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());

    drop((attackers, busy, after));
    assert!(
        eventually(Duration::from_secs(10), || connections_open(&server) == 0
            && upstream.open() == 0),
        "connections left open: {} downstream, {} upstream",
        connections_open(&server),
        upstream.open()
    );

    // Every permit and queue place came back: MAX + QUEUE are taken again, no 503.
    upstream.gate(false);
    let mut second = wave(server.addr, &upstream, MAX + QUEUE);
    std::thread::sleep(Duration::from_millis(300));
    let none = answers(&mut second, 1, Duration::from_millis(10));
    assert_eq!(
        none.iter().flatten().count(),
        0,
        "nothing refused: {none:?}"
    );
    upstream.gate(true);
    let served = answers(&mut second, MAX + QUEUE, Duration::from_secs(30));
    assert_eq!(count(&served, 200), MAX + QUEUE);
}
