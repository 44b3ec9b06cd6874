//! Attack: 1,000 clients with a 4 KiB receive window ask the proxy for a 64 MiB upstream
//! body and never read. The proxy moves a response only as fast as its client takes it
//! (TCP flow control holds the upstream back; the proxy buffers a bounded amount per
//! exchange, the kernel's socket buffers the rest), and the server's write timeout (here
//! 2 s; by default 30 s, with the minimum send rate) cuts each stalled client, which drops
//! the upstream exchange and frees its permit for the next in the queue. So: no upstream
//! body is ever written to its end, each upstream is held to a fraction of its body, the
//! process grows by far less than the bodies, a fresh client is served meanwhile, and in
//! the end the server's and the upstream's connections return to zero and a proxied
//! request is served again.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "common/gated_upstream.rs"]
mod gated_upstream;
#[path = "common/stalled.rs"]
mod stalled;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::metrics::eventually;
use coreline_http::{raise_fd_limit, Timeouts};
use gated_upstream::{connections_open, serve_proxy, Pending, Upstream, BIG_BODY};

const READERS: usize = 1_000;
const MAX: usize = 128;

/// The process's resident memory, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Samples [`rss`] until stopped; the highest seen.
fn watch_rss(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let peak = AtomicU64::new(rss());
        while !stop.load(Ordering::Relaxed) {
            peak.fetch_max(rss(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(50));
        }
        peak.into_inner()
    })
}

#[test]
fn slow_readers_of_proxied_responses_are_cut_and_hold_no_upstream() {
    raise_fd_limit().expect("raise RLIMIT_NOFILE");
    let upstream = Upstream::start();
    upstream.gate(true);
    let mut timeouts = Timeouts::default();
    timeouts.write = Duration::from_secs(2);
    let server = serve_proxy(upstream.addr, MAX, READERS, timeouts);
    let baseline = stalled::fresh_latencies(server.addr, "/plaintext", 200).unwrap();
    let before = rss();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = watch_rss(Arc::clone(&stop));

    let mut readers = stalled::connect_small_window(server.addr, READERS);
    let request_len = "GET /up/big HTTP/1.1\r\nHost: x\r\n\r\n".len();
    let sent = stalled::pipeline_without_reading(&mut readers, "/up/big", request_len);
    assert_eq!(sent, READERS * request_len, "each reader sent one request");
    assert!(
        eventually(Duration::from_secs(10), || upstream.open() >= MAX / 2),
        "the upstream is being read from: {} connections",
        upstream.open()
    );
    assert!(
        upstream.open() <= MAX,
        "at most {MAX} upstream exchanges at once"
    );
    std::thread::sleep(Duration::from_secs(1));
    let during = stalled::fresh_latencies(server.addr, "/plaintext", 200)
        .expect("a fresh client is served during the attack");

    // Every reader is cut by the write timeout in turn (8 rounds of 128).
    assert!(
        eventually(Duration::from_secs(90), || connections_open(&server) == 0
            && upstream.open() == 0),
        "left open: {} downstream, {} upstream",
        connections_open(&server),
        upstream.open()
    );
    stop.store(true, Ordering::Relaxed);
    let peak = peak.join().unwrap();
    let (p_before, p_during) = (stalled::p99(&baseline), stalled::p99(&during));
    let grew = peak.saturating_sub(before);
    eprintln!(
        "fresh p99 {p_before} µs before, {p_during} µs during; RSS grew by {} MiB; \
         upstream wrote {} MiB in all",
        grew >> 20,
        upstream.written() >> 20
    );
    assert_eq!(
        upstream.completed(),
        0,
        "no stalled response was buffered whole"
    );
    assert!(
        upstream.written() < READERS as u64 * BIG_BODY / 4,
        "flow control held each upstream back: {} MiB written in all",
        upstream.written() >> 20
    );
    assert!(grew < 128 << 20, "the process grew by {} MiB", grew >> 20);
    // Each round of new exchanges fills several MiB of loopback buffers per exchange on
    // the same two cores as the fresh client, so the bound is looser than for attacks
    // that move no data: it tells a served client from a starved one.
    let bound = 100_000u64.max(5 * p_before);
    assert!(
        p_during < bound,
        "fresh p99 {p_during} µs, bound {bound} µs"
    );
    drop(readers);

    let mut after = [Pending::send(server.addr, "/up/after")];
    assert!(eventually(Duration::from_secs(5), || after[0]
        .poll()
        .is_some()));
    assert_eq!(after[0].poll().map(|(s, _)| s), Some(200));
}
