//! HTTP latency metrics through the library: service time of a slow handler, queue wait
//! behind a slow pipelined request, accept → first byte, metrics off; `/metrics` checked
//! with Python's `prometheus_client` parser, and the table and interval-log exports.
//! `arrival.rs`: requests stamped when they arrive, not when the connection reads them.
//! `outcomes.rs`: responses by status class and kind, refusals by reason.
//! `prometheus_server.rs`: a real Prometheus server scrapes and queries them (if installed).
//! `scrape.rs`: concurrent scrapes share one gather.

mod arrival;
#[path = "../common/mod.rs"]
mod common;
mod outcomes;
mod prometheus_server;
mod scrape;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::time::Duration;

use base64::Engine as _;
use coreline_http::metrics::{latency_rows, rows_from_prometheus, write_interval_log};
use coreline_http::{recycle, response, Body, Server};
use coreline_runtime::{time, Cores};
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use http::{Request, Response, StatusCode};

use common::metrics::{
    fetch_metrics, histogram, parse_prometheus, sample, snapshot, start_observed,
};
use common::{one, Client};

/// `/sleep/N` sleeps N ms (a timer: the core stays free); `/block/N` blocks the core for
/// N ms; `/big` answers 200 KiB (sent
/// after the head, not through the batch buffer); `/stream` a streamed body; anything
/// else answers at once.
pub(crate) async fn handler(req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_string();
    recycle(req);
    if let Some(ms) = path.strip_prefix("/sleep/").and_then(|n| n.parse().ok()) {
        time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(ms) = path.strip_prefix("/block/").and_then(|n| n.parse().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    match path.as_str() {
        "/big" => response(StatusCode::OK, Body::from(vec![b'x'; 200 * 1024])),
        "/stream" => {
            let chunks = ["a", "b"].map(|s| Ok(bytes::Bytes::from_static(s.as_bytes())));
            response(
                StatusCode::OK,
                Body::from_stream(common::Iter(chunks.into_iter())),
            )
        }
        _ => response(StatusCode::OK, Body::from_static(b"ok")),
    }
}

pub(crate) fn one_core() -> coreline_http::Builder {
    Server::builder().cores(Cores::Count(1))
}

const GET_SLEEP_5: &[u8] = b"GET /sleep/5 HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn service_time_of_a_5ms_handler_in_prometheus_text() {
    let (server, admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    for _ in 0..20 {
        assert_eq!(c.send(GET_SLEEP_5).response(false).status, 200);
    }
    // A `Connection: close` response is counted when it is sent, too.
    let (r, _) = one(
        server.addr,
        b"GET /sleep/5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    drop(c);

    let text = fetch_metrics(admin.addr);
    let m = parse_prometheus(&text);
    assert!(m.contains_key("# family coreline_http_service_seconds histogram"));
    assert!(m.contains_key("# family coreline_http_service_seconds_max gauge"));
    assert!(
        !m.keys().any(|k| k.contains("core=\"all\"")),
        "Prometheus sums cores itself"
    );
    let buckets = histogram(&m, "coreline_http_service_seconds", "0");
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 21.0)), "{buckets:?}");
    assert_eq!(
        sample(&m, "coreline_http_service_seconds_count{core=\"0\"}"),
        21.0
    );
    // Every request took ≥ 5 ms: none in the buckets up to 2.5 ms, all by 10 s.
    let at = |le: f64| buckets.iter().find(|(b, _)| *b == le).unwrap().1;
    assert_eq!(at(0.0025), 0.0, "{buckets:?}");
    assert_eq!(at(10.0), 21.0, "{buckets:?}");
    let sum = sample(&m, "coreline_http_service_seconds_sum{core=\"0\"}");
    assert!(sum >= 21.0 * 0.005 * 0.99, "sum {sum}");
    assert!(sample(&m, "coreline_http_service_seconds_max{core=\"0\"}") >= 0.005);
    // Nothing was pipelined: no request waited for a handler. Counted from the previous
    // request's arrival, most would include its 5 ms handler; the median stays clear of
    // that even when a loaded machine delays a few.
    let wait = histogram(&m, "coreline_http_queue_wait_seconds", "0");
    let below_5ms = wait.iter().find(|(b, _)| *b == 0.0025).unwrap().1;
    assert!(
        below_5ms > 21.0 / 2.0,
        "queue wait without pipelining: {wait:?}"
    );
    let ok = "coreline_http_responses_total{class=\"2xx\",core=\"0\",route=\"handler\"}";
    assert_eq!(sample(&m, ok), 21.0);
    assert_eq!(sample(&m, "coreline_http_requests_total{core=\"0\"}"), 21.0);
    assert_eq!(
        sample(&m, "coreline_http_connections_accepted_total{core=\"0\"}"),
        2.0
    );

    // The same numbers in the table, in `coreline stats`' reading of the text, and in
    // an interval log read back with the HdrHistogram reader.
    let snap = snapshot(&server);
    let (r, _) = one(
        admin.addr,
        b"GET /debug/latency HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let table = r.body_str();
    let line = table
        .lines()
        .find(|l| l.starts_with("service") && l.split_whitespace().nth(1) == Some("all"))
        .unwrap_or_else(|| panic!("no service row:\n{table}"));
    assert!(line.ends_with(" 21"), "{line}");
    let parsed = rows_from_prometheus(&text).unwrap();
    let direct = latency_rows(&snap);
    let service = |rows: &[coreline_http::metrics::LatencyRow]| {
        rows.iter()
            .find(|r| r.metric == "service" && r.core == "all")
            .cloned()
            .unwrap()
    };
    let (a, b) = (service(&parsed), service(&direct));
    assert_eq!(a.count, b.count);
    // Read from buckets: the median lies in the same bucket, (2.5 ms, 5 ms] or above.
    assert!(
        a.quantiles[0] > 2_500.0 && a.quantiles[0] <= a.max,
        "{a:?} vs {b:?}"
    );
    assert!((a.max - b.max).abs() < 1.0, "{a:?} vs {b:?}");
    let mut log = Vec::new();
    write_interval_log(&snap, &mut log).unwrap();
    let mut found = None;
    for entry in IntervalLogIterator::new(&log) {
        if let LogEntry::Interval(h) = entry.unwrap() {
            if h.tag().map(|t| t.as_str()) == Some("service.all") {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(h.encoded_histogram())
                    .expect("base64");
                let hist: hdrhistogram::Histogram<u64> =
                    Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
                found = Some(hist);
            }
        }
    }
    let hist = found.expect("no service.all interval in the log");
    assert_eq!(hist.len(), 21);
    assert!(hist.value_at_quantile(0.5) >= 5_000);
    drop((server, admin));
}

#[test]
fn pipelined_requests_behind_a_slow_one_show_its_time_as_queue_wait() {
    let (server, admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    // One write, so all four arrive in one receive (arrival.rs sends them in two).
    let mut batch = b"GET /sleep/50 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    for _ in 0..3 {
        batch.extend_from_slice(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    c.send(&batch);
    for _ in 0..4 {
        assert_eq!(c.response(false).status, 200);
    }
    let snap = snapshot(&server);
    let http = snap.merged_http();
    let wait = &http.queue_wait_us;
    assert_eq!(wait.len(), 4);
    // The three behind the slow one waited its 50 ms; the slow one itself did not wait.
    assert_eq!(wait.count_between(45_000, u64::MAX), 3, "{wait:?}");
    assert_eq!(wait.count_between(0, 45_000 - 1), 1, "{wait:?}");
    // Their responses left with the slow one's: all four took ≥ 50 ms of service.
    assert_eq!(http.service_us.count_between(45_000, u64::MAX), 4);
    let m = parse_prometheus(&fetch_metrics(admin.addr));
    let wait = histogram(&m, "coreline_http_queue_wait_seconds", "0");
    let below_25ms = wait.iter().find(|(b, _)| *b == 0.025).unwrap().1;
    assert_eq!(below_25ms, 1.0, "{wait:?}");
    assert_eq!(wait.last(), Some(&(f64::INFINITY, 4.0)), "{wait:?}");
}

/// Every way a response leaves is counted once: batched, a large body sent on its own, a
/// streamed body, HEAD, pipelined, and a `Connection: close` one.
#[test]
fn every_response_path_counts_one_service_sample() {
    let (server, _admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    for target in ["/", "/big", "/stream", "/big", "/"] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.send(req.as_bytes()).response(false).status, 200);
    }
    assert_eq!(
        c.send(b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .response(true)
            .status,
        200
    );
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    for _ in 0..3 {
        assert_eq!(c.response(false).status, 200);
    }
    let snap = snapshot(&server);
    let core = &snap.cores[0];
    assert_eq!(core.requests, 9);
    assert_eq!(core.http.queue_wait_us.len(), 9);
    assert_eq!(core.http.service_us.len(), 9);
    assert_eq!(core.http.accept_to_first_byte_us.len(), 1);
}

#[test]
fn accept_to_first_byte_counts_a_silent_client() {
    let (server, _admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    // Silent for 100 ms after the connect; the server's accept may come a little after the
    // connect on a loaded machine, so the bound is half of it.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .response(false)
            .status,
        200
    );
    let snap = snapshot(&server);
    let first = &snap.cores[0].http.accept_to_first_byte_us;
    assert_eq!(first.len(), 1);
    assert!(
        first.max() >= 50_000,
        "accept → first byte {} µs",
        first.max()
    );
    assert_eq!(snap.cores[0].connections_open, 1);
}

#[test]
fn metrics_are_off_unless_enabled() {
    let server = one_core()
        .listen("127.0.0.1:0".parse().unwrap())
        .build(|| handler)
        .unwrap();
    let observed = common::run_on_thread(server);
    let handle = observed.handle.clone();
    let admin = common::run_on_thread(
        Server::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .cores(Cores::Count(1))
            .build(move || coreline_http::metrics::MetricsAdmin::new(handle.clone()))
            .unwrap(),
    );
    let (r, _) = one(observed.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(observed
        .handle
        .metrics_snapshot_blocking(Duration::from_secs(5))
        .is_none());
    let (r, _) = one(admin.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 503);
    let (r, _) = one(admin.addr, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 404);
    let (r, _) = one(
        admin.addr,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(r.status, 405);
}
