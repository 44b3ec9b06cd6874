//! Attack: 1,000 slow-body senders on one core, each announcing a 10,000-byte body and
//! sending it at one byte per 2 s, enough to fill the per-core connection limit. The
//! minimum body rate (240 bytes/s after a 5 s grace, the defaults) cuts each with a 408,
//! freeing the slots, while a fresh client keeps being served: its 200 requests during the
//! attack all succeed with a p99 close to its baseline, the provided-buffer ring stays
//! mostly free, and after the grace a new connection gets in again.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coreline_http::{raise_fd_limit, Limits, Server, Timeouts};
use coreline_runtime::Cores;

const ATTACKERS: usize = 1_000;
const HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n";
const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

/// Latencies (µs) of `n` sequential keep-alive requests on `c`, sorted; panics if one
/// fails.
fn latencies(c: &mut TcpStream, n: usize) -> Vec<u64> {
    let mut buf = [0u8; 512];
    let mut out: Vec<u64> = (0..n)
        .map(|i| {
            let t = Instant::now();
            c.write_all(GET).unwrap();
            let mut got = 0;
            while !buf[..got].ends_with(b"Hello, World!") {
                let k = c.read(&mut buf[got..]).unwrap();
                assert!(k > 0, "request {i} of the fresh client failed: closed");
                got += k;
            }
            assert!(buf.starts_with(b"HTTP/1.1 200 "), "request {i} got 200");
            t.elapsed().as_micros() as u64
        })
        .collect();
    out.sort_unstable();
    out
}

fn p99(sorted: &[u64]) -> u64 {
    sorted[sorted.len() * 99 / 100]
}

/// The core's provided buffers in use, and how many there are.
fn buffers(server: &common::Running) -> (usize, usize) {
    let snap = server
        .handle
        .metrics_snapshot_blocking(Duration::from_secs(5))
        .expect("the core answers with its metrics");
    let b = &snap.cores[0].buffers;
    (b.in_use, b.total)
}

/// What became of an attacker's connection: answered 408, closed, or still open.
fn outcome(c: &mut TcpStream) -> &'static str {
    c.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1024];
    match c.read(&mut buf) {
        Ok(n) if buf[..n].starts_with(b"HTTP/1.1 408 ") => "408",
        Ok(0) => "closed",
        Ok(_) => "other",
        Err(e) if e.kind() == ErrorKind::WouldBlock => "open",
        Err(_) => "closed",
    }
}

#[test]
fn slow_body_senders_are_cut_after_the_grace_and_a_fresh_client_is_served() {
    raise_fd_limit().expect("raise RLIMIT_NOFILE");
    let timeouts = Timeouts::default();
    assert_eq!(
        (timeouts.min_body_rate, timeouts.min_rate_grace.as_secs()),
        (240, 5)
    );
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .metrics(true)
        // The fresh client and the attackers: the attack alone fills the core.
        .limits(Limits::default().max_connections_per_core(ATTACKERS + 1))
        .timeouts(timeouts)
        .build(|| common::test_handler)
        .expect("build server");
    let server = common::run_on_thread(server);
    let addr: SocketAddr = server.addr;

    let mut fresh = TcpStream::connect(addr).unwrap();
    fresh.set_nodelay(true).unwrap();
    fresh
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let baseline = p99(&latencies(&mut fresh, 200));

    let attack_began = Instant::now();
    let mut attackers: Vec<TcpStream> = (0..ATTACKERS)
        .map(|_| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_nodelay(true).unwrap();
            c.write_all(HEAD).unwrap();
            c
        })
        .collect();
    // One byte per connection every 2 s, spread over the 2 s.
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = {
        let stop = stop.clone();
        let mut conns: Vec<TcpStream> = attackers.iter().map(|c| c.try_clone().unwrap()).collect();
        std::thread::spawn(move || {
            let gap = Duration::from_secs(2) / ATTACKERS as u32;
            while !stop.load(Ordering::Relaxed) {
                for c in &mut conns {
                    let _ = c.write(b"b"); // (a cut connection fails: ignored)
                    std::thread::sleep(gap);
                }
            }
        })
    };

    // During the attack, within the grace: every slot is taken, the fresh client is served.
    std::thread::sleep(Duration::from_millis(500));
    let during = p99(&latencies(&mut fresh, 200));
    let (in_use, total) = buffers(&server);
    let in_grace = attack_began.elapsed();
    eprintln!(
        "slow bodies: fresh client p99 {baseline} µs before, {during} µs during \
         ({in_grace:?} into the attack); ring buffers in use {in_use} of {total}"
    );
    assert!(
        during < (20_000).max(5 * baseline),
        "p99 went from {baseline} µs to {during} µs"
    );
    assert!(
        in_use < total / 2,
        "{in_use} of {total} ring buffers in use"
    );

    // After the 5 s grace (and a sweep, and a loaded machine's delays), every attacker
    // has been cut.
    while attack_began.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    trickle.join().unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for c in &mut attackers {
        *counts.entry(outcome(c)).or_insert(0usize) += 1;
    }
    eprintln!("slow bodies after 10 s: {counts:?}");
    let cut = counts.get("408").unwrap_or(&0) + counts.get("closed").unwrap_or(&0);
    assert_eq!(cut, ATTACKERS, "every slow body was cut: {counts:?}");
    assert!(
        *counts.get("408").unwrap_or(&0) >= ATTACKERS * 9 / 10,
        "with a 408: {counts:?}"
    );

    // The slots are free again: a new connection is served, not refused with 503.
    let mut new = TcpStream::connect(addr).unwrap();
    new.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(!latencies(&mut new, 10).is_empty());
    assert!(!latencies(&mut fresh, 10).is_empty(), "still served");
}
