//! coreline-load against real servers on loopback: a coreline-http server that counts
//! requests, scripted raw servers for framing and connection behaviour, and a coreline-tls
//! server. Every run is bounded by its own -d (1–2 s) plus the drain.

mod load_support;

use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use load_support::raw::{Raw, Script};
use load_support::tls::Https;
use load_support::{load, temp_dir, Counting};

/// The keys the comparison harness reads (more are allowed).
const KEYS: [&str; 14] = [
    "url",
    "connections",
    "duration_s",
    "rate",
    "pipeline",
    "close",
    "tls",
    "cpus",
    "requests",
    "errors",
    "bytes",
    "requests_per_sec",
    "bytes_per_sec",
    "latency_us",
];

#[test]
fn closed_loop_count_matches_the_server_and_outputs_are_written() {
    let dir = temp_dir("closed");
    let server = Counting::start(None, Duration::ZERO);
    let (hlog, svg) = (dir.join("run.hlog"), dir.join("run.svg"));
    let run = load(
        &dir,
        &[
            "-c",
            "8",
            "-d",
            "2",
            "--hlog",
            hlog.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
            &server.url("/plaintext"),
        ],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let requests = run.int("requests");
    assert!(requests > 200, "only {requests} requests in 2 s");
    assert_eq!(
        requests,
        server.count(),
        "every request sent was answered and counted"
    );
    for kind in ["connect", "read", "write", "timeout", "status", "parse"] {
        assert_eq!(run.int(&format!("errors.{kind}")), 0, "{kind} errors");
    }
    // The JSON schema.
    for key in KEYS {
        assert!(
            run.json.get(key).is_some(),
            "JSON lacks {key}: {}",
            run.json
        );
    }
    for key in ["mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"] {
        assert!(run.latency(key) > 0.0, "latency {key}");
    }
    assert!(run.latency("p50") <= run.latency("p99") && run.latency("p99") <= run.latency("max"));
    assert_eq!(run.json["rate"], serde_json::Value::Null);
    // Every response is the same size (status, Date, Content-Length, 13-byte body).
    let bytes = run.int("bytes");
    assert!(
        bytes.is_multiple_of(requests) && (60..300).contains(&(bytes / requests)),
        "{bytes}"
    );
    let rps = run.json["requests_per_sec"].as_f64().unwrap();
    let secs = run.json["duration_s"].as_f64().unwrap();
    assert!((1.9..3.0).contains(&secs), "measured duration {secs}");
    assert!((rps * secs - requests as f64).abs() < 1.0);
    assert!(run.stdout().contains("Requests/sec:"), "{}", run.stdout());

    // The interval log reads back: one interval per second, together every response.
    let log = std::fs::read(&hlog).unwrap();
    let mut total = 0;
    let mut intervals = 0;
    for entry in IntervalLogIterator::new(&log) {
        if let LogEntry::Interval(h) = entry.expect("valid log entry") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.encoded_histogram())
                .expect("base64");
            let hist: hdrhistogram::Histogram<u64> = Deserializer::new()
                .deserialize(&mut bytes.as_slice())
                .expect("histogram decodes");
            assert!(h.duration() <= Duration::from_millis(1001));
            total += hist.len();
            intervals += 1;
        }
    }
    assert!(
        (2..=3).contains(&intervals),
        "{intervals} intervals for 2 s"
    );
    assert_eq!(total, requests);

    // The plot.
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.contains("99.99%"));
}

#[test]
fn pipelining_keeps_the_depth_outstanding_and_parses_split_mixed_framing() {
    let dir = temp_dir("pipeline");
    // The server answers nothing until 8 requests are buffered: without real pipelining
    // every request would time out.
    let server = Raw::start(Script::Pipeline(8));
    let run = load(
        &dir,
        &[
            "-c",
            "2",
            "-d",
            "1",
            "--pipeline",
            "8",
            // Long enough for a loaded machine: without pipelining nothing is ever
            // answered, so any timeout still fails the request count below.
            "--timeout",
            "10",
            &server.url(),
        ],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let requests = run.int("requests");
    assert!(requests >= 80, "{requests}");
    assert_eq!(requests % 8, 0);
    assert_eq!(requests, server.get(|c| &c.requests));
    assert_eq!(
        server.get(|c| &c.max_buffered),
        8,
        "never more than the depth"
    );
    assert_eq!(run.int("errors.parse") + run.int("errors.timeout"), 0);
    assert_eq!(server.get(|c| &c.connections), 2);
}

#[test]
fn close_opens_a_connection_per_request_and_reads_bodies_to_the_close() {
    let dir = temp_dir("close");
    let server = Raw::start(Script::CloseEach);
    let run = load(&dir, &["-c", "2", "-d", "1", "--close", &server.url()]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let requests = run.int("requests");
    assert!(requests > 50, "{requests}");
    assert_eq!(requests, server.get(|c| &c.requests));
    assert_eq!(
        requests,
        server.get(|c| &c.connections),
        "one connection per request"
    );
    assert_eq!(
        requests,
        server.get(|c| &c.with_close),
        "each said Connection: close"
    );
    assert_eq!(run.int("errors.read") + run.int("errors.parse"), 0);

    // A server that ignores `Connection: close` and keeps the connection: the client still
    // uses each connection once.
    let server = Raw::start(Script::CloseAfter(u64::MAX));
    let run = load(&dir, &["-c", "2", "-d", "1", "--close", &server.url()]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let requests = run.int("requests");
    assert!(requests > 50, "{requests}");
    assert_eq!(
        requests,
        server.get(|c| &c.connections),
        "one connection per request"
    );
}

#[test]
fn server_closes_are_followed_by_reconnects_without_errors() {
    let dir = temp_dir("server-close");
    let server = Raw::start(Script::CloseAfter(3));
    let run = load(&dir, &["-c", "2", "-d", "1", &server.url()]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let requests = run.int("requests");
    assert!(requests > 30, "{requests}");
    assert_eq!(requests, server.get(|c| &c.requests));
    let conns = server.get(|c| &c.connections);
    assert!(
        conns >= requests / 3,
        "{conns} connections for {requests} requests"
    );
    assert_eq!(run.int("errors.read") + run.int("errors.parse"), 0);
}

#[test]
fn open_loop_rate_and_latency_from_the_due_time() {
    let dir = temp_dir("open");
    // Request 100 blocks the server's only core for 200 ms.
    let server = Counting::start(Some(100), Duration::from_millis(200));
    let run = load(&dir, &["-c", "2", "-d", "2", "-R", "200", &server.url("/")]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    assert!(server.stalled.load(std::sync::atomic::Ordering::Relaxed));
    // Requests due in the run's last moments (and, on a loaded machine, part of the
    // stall's backlog) may still be in flight when it ends and are not counted, so
    // completions are bounded loosely below and exactly above.
    let requests = run.int("requests");
    assert!(
        (300..=400).contains(&requests),
        "200/s for 2 s gave {requests}"
    );
    assert_eq!(requests, server.count());
    assert_eq!(run.json["rate"].as_f64(), Some(200.0));
    assert_eq!(run.int("requests_due"), 400);
    // ~40 requests were due during the stall, each waiting for its end: with latency
    // measured from the due time they fill the top 10 %. Measured from the send, only
    // the 2 in flight would be slow and p99 would be a few ms.
    let p99 = run.latency("p99");
    assert!(
        p99 >= 150_000.0,
        "p99 {p99} µs does not show the 200 ms stall"
    );
    assert!(run.latency("max") >= 190_000.0);
    // Not an absolute bound: under CPU hogs the median itself waits tens of ms.
    let p50 = run.latency("p50");
    assert!(
        p50 < p99 / 2.0,
        "the stall is not the median: p50 {p50} µs, p99 {p99} µs"
    );
}

#[test]
fn https_keep_alive_close_and_resumption() {
    let dir = temp_dir("https");
    let server = Https::start(&dir);
    let url = server.url();
    let cacert = server.cert.to_str().unwrap().to_string();

    // Keep-alive, verified against the certificate: one handshake per connection.
    let run = load(&dir, &["-c", "2", "-d", "1", "--cacert", &cacert, &url]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    assert!(run.int("requests") > 50);
    assert_eq!(run.json["tls"], serde_json::Value::Bool(true));
    assert_eq!(server.get(|c| &c.handshakes), 2);
    assert_eq!(run.int("requests"), server.get(|c| &c.requests));

    // A connection per request, resuming: all but the first handshakes are resumed.
    let before = (server.get(|c| &c.handshakes), server.get(|c| &c.resumed));
    let run = load(&dir, &["-c", "2", "-d", "1", "--close", &url]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let handshakes = server.get(|c| &c.handshakes) - before.0;
    let resumed = server.get(|c| &c.resumed) - before.1;
    assert_eq!(handshakes, run.int("requests"), "a handshake per request");
    assert!(
        handshakes > 10 && resumed + 2 >= handshakes,
        "{resumed} of {handshakes} resumed"
    );

    // Full handshakes on request.
    let before = server.get(|c| &c.resumed);
    let run = load(
        &dir,
        &["-c", "2", "-d", "1", "--close", "--no-tls-resume", &url],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    assert!(run.int("requests") > 10);
    assert_eq!(server.get(|c| &c.resumed), before, "nothing resumed");

    // A certificate that does not match the --cacert roots fails the handshake.
    let other = temp_dir("https-other");
    let (wrong, _) = coreline_tls::generate_self_signed(&other, &[]).unwrap();
    let run = load(
        &dir,
        &[
            "-c",
            "1",
            "-d",
            "0.5",
            "--cacert",
            wrong.to_str().unwrap(),
            &url,
        ],
    );
    assert_eq!(run.code(), Some(1));
    assert!(run.int("errors.connect") > 0 && run.int("requests") == 0);
}

#[test]
fn several_cores_split_the_connections() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("skipped: needs 2 CPUs, this machine has {cpus}");
        return;
    }
    let dir = temp_dir("cores");
    let server = Raw::start(Script::CloseAfter(u64::MAX));
    let run = load(
        &dir,
        &["-c", "5", "-d", "1", "--cpus", "0,1", &server.url()],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    assert_eq!(run.json["cpus"], serde_json::json!([0, 1]));
    assert_eq!(
        server.get(|c| &c.connections),
        5,
        "each connection opened once"
    );
    assert_eq!(run.int("requests"), server.get(|c| &c.requests));
    assert!(run.int("requests") > 50);
}
