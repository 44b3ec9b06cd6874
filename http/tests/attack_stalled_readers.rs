//! 1,000 connections that pipeline requests for a response larger than their 4 KiB
//! receive window and never read: their tasks wait to send while more of their requests
//! arrive. They must not take the core's provided receive buffers with them: a fresh
//! client's 200 requests all succeed with a p99 near the one it had before the attack,
//! and the ring keeps more than half its buffers free throughout.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "common/stalled.rs"]
mod stalled;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use coreline_http::Server;
use coreline_runtime::Cores;

const ATTACKERS: usize = 1_000;
const FRESH_REQUESTS: usize = 200;
const PIPELINED: usize = 32 * 1024;

#[test]
fn stalled_pipelining_readers_leave_the_receive_buffers_to_others() {
    coreline_http::raise_fd_limit().unwrap();
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .metrics(true)
        .build(|| common::test_handler)
        .expect("build server");
    let server = common::run_on_thread(server);
    let baseline = stalled::fresh_latencies(server.addr, "/plaintext", FRESH_REQUESTS).unwrap();

    let mut attackers = stalled::connect_small_window(server.addr, ATTACKERS);
    // 32 KiB of pipelined requests each: eight provided buffers' worth, so that a
    // thousand of them could hold the ring eight times over.
    let sent = stalled::pipeline_without_reading(&mut attackers, "/big", PIPELINED);
    assert!(
        sent >= ATTACKERS * PIPELINED / 2,
        "the attack sent only {sent} bytes"
    );

    let watch = stalled::BufferWatch::start(server.handle.clone());
    let attacked = stalled::fresh_latencies(server.addr, "/plaintext", FRESH_REQUESTS);
    let (max_in_use, total) = watch.stop();
    let attacked = attacked.expect("every fresh request is answered during the attack");

    let (before, during) = (stalled::p99(&baseline), stalled::p99(&attacked));
    eprintln!(
        "fresh client p99: {before} µs before, {during} µs during the attack \
         (max {} µs); ring buffers in use at most {max_in_use} of {total}",
        attacked[attacked.len() - 1]
    );
    assert!(
        max_in_use < total / 2,
        "stalled readers held {max_in_use} of {total} provided buffers"
    );
    assert!(
        during < stalled::p99_bound(before),
        "fresh p99 {during} µs under attack vs {before} µs before"
    );
    drop(attackers);
}
