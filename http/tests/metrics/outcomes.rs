//! Responses by status class and kind, refusals by reason: each counter rises by what the
//! test did, read from `/metrics` through `prometheus_client`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use coreline_http::metrics::MetricsAdmin;
use coreline_http::static_files::StaticFiles;
use coreline_http::{Body, Limits, Server, Timeouts};
use coreline_runtime::Cores;

use crate::common::metrics::{
    eventually, fetch_metrics, histogram, parse_prometheus, sample, start_observed,
};
use crate::common::{one, run_on_thread, Client, Running};
use crate::{handler, one_core};

fn metrics(admin: SocketAddr) -> BTreeMap<String, f64> {
    parse_prometheus(&fetch_metrics(admin))
}

fn responses(m: &BTreeMap<String, f64>, class: &str, route: &str) -> f64 {
    let key =
        format!("coreline_http_responses_total{{class=\"{class}\",core=\"0\",route=\"{route}\"}}");
    sample(m, &key)
}

fn refusals(m: &BTreeMap<String, f64>, reason: &str) -> f64 {
    let key = format!("coreline_http_refusals_total{{core=\"0\",reason=\"{reason}\"}}");
    sample(m, &key)
}

/// A raw request on its own connection; the status line of the answer.
fn status_of(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    text.lines().next().unwrap_or("").to_string()
}

#[test]
fn responses_and_request_refusals_are_counted_by_class_and_reason() {
    let limits = Limits::default().max_body(1_000).max_head(4 * 1024);
    let timeouts = Timeouts::default()
        .header_read(Duration::from_millis(200))
        .body_read(Duration::from_millis(200));
    let (server, admin) = start_observed(one_core().limits(limits).timeouts(timeouts), || handler);
    let mut c = Client::connect(server.addr);
    for _ in 0..7 {
        assert_eq!(
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .response(false)
                .status,
            200
        );
    }
    drop(c);
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(8 * 1024)
    );
    assert!(status_of(server.addr, big_head.as_bytes()).contains(" 431 "));
    let big_body = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    assert!(status_of(server.addr, big_body).contains(" 413 "));
    assert!(status_of(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"
    )
    .contains(" 400 "));
    // Half a head, then silence past the header timeout.
    assert!(status_of(server.addr, b"GET / HTTP/1.1\r\n").contains(" 408 "));
    // Part of a body, then silence past the body timeout.
    let short_body = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab";
    assert!(status_of(server.addr, short_body).contains(" 408 "));

    let m = metrics(admin.addr);
    assert!(m.contains_key("# family coreline_http_responses counter"));
    assert!(m.contains_key("# family coreline_http_refusals counter"));
    assert_eq!(responses(&m, "2xx", "handler"), 7.0);
    assert_eq!(responses(&m, "4xx", "error"), 5.0);
    assert_eq!(responses(&m, "4xx", "handler"), 0.0);
    assert_eq!(responses(&m, "5xx", "error"), 0.0);
    for (reason, n) in [
        ("head_too_large", 1.0),
        ("body_too_large", 1.0),
        ("bad_request", 1.0),
        ("head_timeout", 1.0),
        ("body_timeout", 1.0),
        ("connection_limit", 0.0),
    ] {
        assert_eq!(refusals(&m, reason), n, "{reason}");
    }
    // The handler ran for the 7 and for the POST (whose unread body then timed out): their
    // service times, in cumulative buckets.
    let service = histogram(&m, "coreline_http_service_seconds", "0");
    assert_eq!(service.last().unwrap().1, 8.0);
}

#[test]
fn the_connection_limit_counts_a_503() {
    let limits = Limits::default().max_connections_per_core(1);
    let (server, admin) = start_observed(one_core().limits(limits), || handler);
    let mut held = Client::connect(server.addr);
    assert_eq!(
        held.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .response(false)
            .status,
        200
    );
    let (r, _) = one(server.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 503);
    let m = metrics(admin.addr);
    assert_eq!(refusals(&m, "connection_limit"), 1.0);
    assert_eq!(responses(&m, "5xx", "error"), 1.0);
    assert_eq!(responses(&m, "2xx", "handler"), 1.0);
}

#[test]
fn file_bodies_count_as_the_file_route() {
    let dir = std::env::temp_dir().join(format!("coreline-metrics-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello\n").unwrap();
    let files = StaticFiles::new(&dir).unwrap();
    let (server, admin) = start_observed(one_core(), move || {
        let files = files.clone();
        move |req: http::Request<Body>| {
            let files = files.clone();
            async move { files.serve(req).await }
        }
    });
    let mut c = Client::connect(server.addr);
    for _ in 0..3 {
        let res = c
            .send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .response(false);
        assert_eq!(res.status, 200);
    }
    let res = c
        .send(b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .response(true);
    assert_eq!(res.status, 200);
    // The static file server's 404 has no file body: the handler's.
    let res = c
        .send(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
        .response(false);
    assert_eq!(res.status, 404);
    let m = metrics(admin.addr);
    assert_eq!(responses(&m, "2xx", "file"), 4.0);
    assert_eq!(responses(&m, "2xx", "handler"), 0.0);
    assert_eq!(responses(&m, "4xx", "handler"), 1.0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plain server with a TLS listener too; its admin server; the TLS address.
fn start_tls(limits: Limits, timeouts: Timeouts) -> (Running, Running, SocketAddr) {
    let server = crate::common::transport::plain_and_tls_builder()
        .limits(limits)
        .timeouts(timeouts)
        .build(|| handler)
        .unwrap();
    let tls = server.tls_local_addrs()[0];
    let observed = run_on_thread(server);
    let handle = observed.handle.clone();
    let admin = Server::builder()
        .listen("127.0.0.1:0".parse::<SocketAddr>().unwrap())
        .cores(Cores::Count(1))
        .build(move || MetricsAdmin::new(handle.clone()))
        .unwrap();
    (observed, run_on_thread(admin), tls)
}

#[test]
fn failed_tls_handshakes_are_counted_by_reason() {
    let limits = Limits::default().max_handshakes_per_core(2);
    let timeouts = Timeouts::default().tls_handshake(Duration::from_millis(300));
    let (_server, admin, tls) = start_tls(limits, timeouts);
    // Not TLS at all: a protocol error.
    let mut garbage = TcpStream::connect(tls).unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Its handshake fails before the silent ones below take the cap's places.
    let mut closed = [0u8; 64];
    garbage
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    while matches!(garbage.read(&mut closed), Ok(n) if n > 0) {}
    // Silent: one times out; two more silent ones make the cap evict the oldest first.
    let silent: Vec<TcpStream> = (0..3)
        .map(|_| {
            let s = TcpStream::connect(tls).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            s
        })
        .collect();
    let counted = |m: &BTreeMap<String, f64>| {
        refusals(m, "tls_handshake_error") >= 1.0
            && refusals(m, "tls_handshake_evicted") >= 1.0
            && refusals(m, "tls_handshake_timeout") >= 1.0
    };
    let mut m = metrics(admin.addr);
    // Snapshots are reused for a second: poll a little longer than that.
    assert!(
        eventually(Duration::from_secs(10), || {
            m = metrics(admin.addr);
            counted(&m)
        }),
        "{:?}",
        m.iter()
            .filter(|(k, _)| k.contains("refusals"))
            .collect::<Vec<_>>()
    );
    // Three silent connects: each ended by the cap or the timeout, once.
    let silent_ends = refusals(&m, "tls_handshake_evicted") + refusals(&m, "tls_handshake_timeout");
    assert_eq!(silent_ends, 3.0);
    assert_eq!(refusals(&m, "tls_handshake_error"), 1.0);
    drop((garbage, silent));
}
