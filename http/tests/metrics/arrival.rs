//! Receive stamps taken when the ring reaps the receive, not when the connection reads the
//! bytes: requests that arrive in a later packet while a handler runs show their wait, and
//! a keep-alive request's service time does not include the idle time before it.

use std::time::{Duration, Instant};

use super::common::{one, Client};
use super::{handler, one_core};
use crate::common::metrics::{fetch_metrics, parse_prometheus, sample, snapshot, start_observed};

const GET_FAST: &[u8] = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";

const SLOW_MS: u64 = 60;
const GAP: Duration = Duration::from_millis(20);

/// The slow request, then three fast ones in a second write 20 ms later while the slow
/// handler (60 ms) runs. They queue in the runtime until the handler is done; stamped at
/// reap, their queue wait is the handler's remaining ~40 ms. (Stamped when the connection
/// read them, after the handler, it was ~0.)
#[test]
fn requests_arriving_in_a_later_packet_count_their_wait_from_arrival() {
    let (server, _admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    c.send(format!("GET /sleep/{SLOW_MS} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let first = Instant::now();
    std::thread::sleep(GAP);
    c.send(&b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3));
    let gap = first.elapsed();
    for _ in 0..4 {
        assert_eq!(c.response(false).status, 200);
    }
    let snap = snapshot(&server);
    let http = snap.merged_http();
    let (wait, service) = (&http.queue_wait_us, &http.service_us);
    assert_eq!(wait.len(), 4);
    assert_eq!(service.len(), 4);
    // The slow one did not wait; the three behind it waited for its remaining time.
    assert_eq!(wait.count_between(0, 5_000), 1, "{}", brief(wait));
    assert_eq!(wait.count_between(15_000, u64::MAX), 3, "{}", brief(wait));
    // ...which is at most its whole time minus the gap between the two writes (15 ms of
    // slack for a late reap of the first write).
    let slow = service.max();
    assert!(slow >= SLOW_MS * 1000, "slow service {slow} µs");
    let bound = slow.saturating_sub(gap.as_micros() as u64) + 15_000;
    assert!(
        wait.max() <= bound,
        "wait {} µs > slow service {slow} µs − gap {gap:?} + 15 ms",
        wait.max()
    );
    // Their service runs from their arrival to their send: as long as their wait, at least.
    assert_eq!(
        service.count_between(15_000, u64::MAX),
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
    for _ in 0..5 {
        let r = c
            .send(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            .response(false);
        assert_eq!(r.status, 200);
        std::thread::sleep(Duration::from_millis(50));
    }
    let snap = snapshot(&server);
    let service = &snap.merged_http().service_us;
    assert_eq!(service.len(), 5);
    // An instant handler: far below the 50 ms idle gaps, even on a loaded machine.
    assert!(service.max() < 25_000, "{}", brief(service));
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
/// the core for 60 ms waited that long between the kernel's receive and the reap, and
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
        a.send(b"GET /block/60 HTTP/1.1\r\nHost: x\r\n\r\n");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(b.send(GET_FAST).response(false).status, 200);
        assert_eq!(a.response(false).status, 200);
        let m = parse_prometheus(&fetch_metrics(admin.addr));
        let count = sample(&m, "coreline_rx_kernel_to_reap_seconds_count{core=\"all\"}");
        let max = sample(&m, "coreline_rx_kernel_to_reap_seconds_max{core=\"all\"}");
        if !on {
            assert_eq!(count, 0.0);
            continue;
        }
        assert!(count >= 2.0, "{count} stamped chunks");
        // b's request came in ~20 ms into the 60 ms block: reaped ~40 ms later.
        assert!((0.025..2.0).contains(&max), "rx wait max {max} s");
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
