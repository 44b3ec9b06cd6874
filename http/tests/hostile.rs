//! Hostile clients: slowloris (2,000 connections sending one header byte per second) and a
//! client that never reads its responses. Each is cut off by its timeout, and a normal
//! client keeps being served meanwhile, its latency barely moved. And more connections
//! than the per-core limit: the extra one is answered 503 and closed.

#[path = "common/mod.rs"]
#[allow(unused_imports)] // the raw client is not used here
mod common;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use coreline_http::{Limits, Timeouts};

const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

fn timeouts() -> Timeouts {
    Timeouts::default()
        .header_read(Duration::from_secs(4))
        .write(Duration::from_secs(1))
}

/// Latencies (µs) of `n` sequential keep-alive requests, sorted.
fn latencies(c: &mut TcpStream, n: usize) -> Vec<u64> {
    let mut buf = [0u8; 512];
    let mut out: Vec<u64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            c.write_all(GET).unwrap();
            let got = c.read(&mut buf).expect("normal client served");
            assert!(buf[..got].starts_with(b"HTTP/1.1 200"));
            t.elapsed().as_micros() as u64
        })
        .collect();
    out.sort_unstable();
    out
}

/// A few scheduler time slices (µs): what preemption alone can add to a p99 on a loaded
/// machine, far below the 1 s scale at which a server stuck on a hostile client shows.
const PREEMPTION_FLOOR_US: u64 = 20_000;

fn p99(sorted: &[u64]) -> u64 {
    sorted[sorted.len() * 99 / 100]
}

/// The median of three p99s of 2,000 requests each: a p99 of one short window on a shared
/// 2-core machine moves with everything else that runs.
fn steady_p99(c: &mut TcpStream) -> u64 {
    let mut p: Vec<u64> = (0..3).map(|_| p99(&latencies(c, 2_000))).collect();
    p.sort_unstable();
    p[1]
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

#[test]
fn slowloris_is_cut_off_at_the_header_timeout_without_hurting_others() {
    const SLOW: usize = 2_000;
    let server = common::start(Limits::default(), timeouts());
    let mut normal = connect(server.addr);
    let before = steady_p99(&mut normal);

    let mut slow: Vec<TcpStream> = (0..SLOW).map(|_| connect(server.addr)).collect();
    let start = Instant::now();
    // One byte per connection per second, spread over the second as real slowloris
    // clients arrive, never finishing the head; for three seconds.
    let trickle = std::thread::spawn(move || {
        let head = b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Slow: a";
        let gap = Duration::from_secs(1) / SLOW as u32;
        for byte in &head[..3] {
            let second = Instant::now();
            for (i, c) in slow.iter_mut().enumerate() {
                c.write_all(std::slice::from_ref(byte)).unwrap();
                let due = gap * (i as u32 + 1);
                std::thread::sleep(due.saturating_sub(second.elapsed()));
            }
        }
        slow
    });
    let during = steady_p99(&mut normal);
    let mut slow = trickle.join().unwrap();
    eprintln!("slowloris: normal client p99 {before} µs before, {during} µs during");
    // A server that waited for a slow client's next byte would hold the normal one for up
    // to the 1 s between bytes. The bound is 2x the baseline measured above, plus a floor
    // of a few scheduler slices (20 ms): on a loaded 2-core machine the trickle thread and
    // everything else preempt the server now and then, moving a p99 of microseconds by
    // milliseconds. How much slowloris costs a realistic load is a benchmark's figure
    // (bench/scripts/slowloris.py), not this test's.
    assert!(
        during <= 2 * before + PREEMPTION_FLOOR_US,
        "p99 went from {before} µs to {during} µs with {SLOW} slowloris connections"
    );

    // Each is answered 408 and closed once its header timeout (4 s) passes.
    let mut closed = 0;
    for c in &mut slow {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut all = Vec::new();
        match c.read_to_end(&mut all) {
            Ok(_) => {
                assert!(
                    all.starts_with(b"HTTP/1.1 408"),
                    "{:?}",
                    &all[..all.len().min(40)]
                );
                closed += 1;
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => closed += 1,
            Err(e) => panic!("slowloris connection not closed: {e}"),
        }
    }
    assert_eq!(closed, SLOW);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(!latencies(&mut normal, 10).is_empty(), "still served");
}

#[test]
fn a_client_that_never_reads_is_closed_by_the_send_timeout() {
    let server = common::start(Limits::default(), timeouts());
    let mut hog = connect(server.addr);
    // 200 pipelined requests for 100 KiB each: 20 MB the client never reads.
    let requests = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
    hog.write_all(&requests).unwrap();

    let mut normal = connect(server.addr);
    let p = p99(&latencies(&mut normal, 2_000));
    // A server that blocked on the hog would hold the normal client until the 1 s send
    // timeout; preemption on a loaded machine adds milliseconds.
    let send_timeout = timeouts().write.as_micros() as u64;
    assert!(
        p < send_timeout / 4,
        "a normal client is served promptly meanwhile (p99 {p} µs)"
    );

    // The server gives up on the hog after the 1 s send timeout: reading now finds an
    // end (EOF or reset) well short of the 20 MB asked for.
    std::thread::sleep(Duration::from_secs(3));
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let ended = loop {
        match hog.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(_) => break false, // still open after 5 s of silence
        }
    };
    assert!(ended, "the server closed the connection");
    assert!(
        got < 20 * 100 * 1024 * 10,
        "it stopped sending ({got} bytes)"
    );
    assert!(!latencies(&mut normal, 10).is_empty(), "still served");
}

#[test]
fn connections_over_the_per_core_limit_get_503_and_close() {
    let limits = Limits::default().max_connections_per_core(4);
    let server = common::start(limits, Timeouts::default());
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = connect(server.addr);
            latencies(&mut c, 1); // served, so registered
            c
        })
        .collect();
    let mut extra = connect(server.addr);
    extra.write_all(GET).unwrap();
    let mut answer = Vec::new();
    extra
        .read_to_end(&mut answer)
        .expect("a clean close, not a reset");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Connection: close"), "{answer}");
    for c in &mut held {
        latencies(c, 3); // the ones it holds are still served
    }
    // A slot frees up when a client leaves.
    drop(held.pop());
    let end = Instant::now() + Duration::from_secs(2);
    loop {
        let mut c = connect(server.addr);
        c.write_all(GET).unwrap();
        let mut buf = [0u8; 512];
        let n = c.read(&mut buf).unwrap();
        if buf[..n].starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < end, "the freed slot was never reused");
        std::thread::sleep(Duration::from_millis(20));
    }
}
