//! Receive stamps taken when the ring reaps the receive, not when the connection reads the
//! bytes: requests that arrive in a later packet while a handler runs show their wait, and
//! a keep-alive request's service time does not include the idle time before it.

use std::time::{Duration, Instant};

use super::common::{one, Client};
use super::{handler, one_core};
use crate::common::metrics::{fetch_metrics, parse_prometheus, sample, snapshot, start_observed};

const GET_FAST: &[u8] = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";

const SLOW_MS: u64 = 200;
const GAP: Duration = Duration::from_millis(20);
/// A quarter of the slow handler: the three fast requests wait about 180 ms of it, the slow
/// one nothing; a loaded machine moves either by far less than the 130 ms in between.
const WAITED_US: u64 = SLOW_MS * 1000 / 4;

/// The slow request, then three fast ones in a second write 20 ms later while the slow
/// handler (200 ms) runs. They queue in the runtime until the handler is done; stamped at
/// reap, their queue wait is the handler's remaining ~180 ms. (Stamped when the connection
/// read them, after the handler, it was ~0.)
#[test]
fn requests_arriving_in_a_later_packet_count_their_wait_from_arrival() {
    let (server, _admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    c.send(format!("GET /sleep/{SLOW_MS} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    std::thread::sleep(GAP);
    let second_sent = Instant::now();
    c.send(&b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3));
    for _ in 0..4 {
        assert_eq!(c.response(false).status, 200);
    }
    // The fast ones arrived after `second_sent` and started before their responses were
    // read: their wait is at most this.
    let wait_bound = second_sent.elapsed();
    let snap = snapshot(&server);
    let http = snap.merged_http();
    let (wait, service) = (&http.queue_wait_us, &http.service_us);
    assert_eq!(wait.len(), 4);
    assert_eq!(service.len(), 4);
    // The slow one did not wait; the three behind it waited for its remaining time.
    assert_eq!(wait.count_between(0, WAITED_US), 1, "{}", brief(wait));
    assert_eq!(
        wait.count_between(WAITED_US, u64::MAX),
        3,
        "{}",
        brief(wait)
    );
    let slow = service.max();
    assert!(slow >= SLOW_MS * 1000, "slow service {slow} µs");
    // 1 % for the histogram's rounding.
    let bound = wait_bound.as_micros() as u64 * 101 / 100;
    assert!(
        wait.max() <= bound,
        "wait {} µs > {bound} µs between the second write and the first response",
        wait.max()
    );
    // Their service runs from their arrival to their send: as long as their wait, at least.
    assert_eq!(
        service.count_between(WAITED_US, u64::MAX),
        4,
        "{}",
        brief(service)
    );
}

/// Keep-alive requests with idle time between them: each one's service counts from its own
/// first byte, not from the previous request's.
#[test]
fn service_of_a_keep_alive_request_excludes_the_idle_time_before_it() {
    let (server, _admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    const IDLE: Duration = Duration::from_millis(50);
    for _ in 0..5 {
        let r = c
            .send(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            .response(false);
        assert_eq!(r.status, 200);
        std::thread::sleep(IDLE);
    }
    let snap = snapshot(&server);
    let service = &snap.merged_http().service_us;
    assert_eq!(service.len(), 5);
    // Counted from the previous request, the four after the first would each include a
    // whole idle gap. An instant handler's own service is far shorter, even when a loaded
    // machine delays one of them.
    let idle_us = IDLE.as_micros() as u64;
    assert!(
        service.count_between(idle_us, u64::MAX) <= 1,
        "{}",
        brief(service)
    );
}

/// Count, min, median and max of a histogram in µs (its `Debug` prints every bucket).
fn brief(h: &hdrhistogram::Histogram<u64>) -> String {
    format!(
        "n={} min={} p50={} max={} µs",
        h.len(),
        h.min(),
        h.value_at_quantile(0.5),
        h.max()
    )
}

/// With `rx_timestamps`: a request that arrives while another connection's handler blocks
/// the core for 200 ms waited most of that between the kernel's receive and the reap, and
/// `/metrics` and `/debug/latency` show it as `rx_wait`. Without, no `rx_wait` samples.
#[test]
fn kernel_receive_timestamps_show_a_blocked_core_as_rx_wait() {
    for on in [true, false] {
        let builder = one_core().rx_timestamps(on);
        let (server, admin) = start_observed(builder, || handler);
        let (mut a, mut b) = (Client::connect(server.addr), Client::connect(server.addr));
        // b's connection is accepted and its receive armed before the block; and the
        // kernel, which turns its stamping on asynchronously, stamps packets by then.
        let rx_count = || {
            let snap = server
                .handle
                .metrics_snapshot_blocking(Duration::from_secs(5));
            snap.unwrap().merged_runtime().rx_kernel_to_reap_us.len()
        };
        for _ in 0..100 {
            assert_eq!(b.send(GET_FAST).response(false).status, 200);
            if !on || rx_count() > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        a.send(b"GET /block/200 HTTP/1.1\r\nHost: x\r\n\r\n");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(b.send(GET_FAST).response(false).status, 200);
        assert_eq!(a.response(false).status, 200);
        let m = parse_prometheus(&fetch_metrics(admin.addr));
        let count = sample(&m, "coreline_rx_kernel_to_reap_seconds_count{core=\"0\"}");
        let max = sample(&m, "coreline_rx_kernel_to_reap_seconds_max{core=\"0\"}");
        if !on {
            assert_eq!(count, 0.0);
            continue;
        }
        assert!(count >= 2.0, "{count} stamped chunks");
        // b's request came in ~50 ms into the 200 ms block: reaped ~150 ms later. A quarter
        // of the block leaves room for a loaded machine starting the block or sending b
        // late; the upper bound catches garbage from mixing clocks.
        assert!((0.05..2.0).contains(&max), "rx wait max {max} s");
        let (r, _) = one(
            admin.addr,
            b"GET /debug/latency HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        let table = r.body_str();
        assert!(
            table.lines().any(|l| l.starts_with("rx_wait")),
            "no rx_wait row:\n{table}"
        );
    }
}
