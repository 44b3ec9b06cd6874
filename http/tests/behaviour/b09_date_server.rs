//! Behaviour 9: `Date` (IMF-fixdate, current) on every response; `Server` only when the
//! embedder sets one ([`Builder::server_header`](coreline_http::Builder::server_header)),
//! then on every response too.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use http::HeaderValue;

use crate::addr;
use crate::common::{one, start_configured, Client, Resp};

fn check(r: &Resp) {
    check_with_server(r, None);
}

fn check_with_server(r: &Resp, server: Option<&str>) {
    assert_eq!(r.header("server"), server, "{}", r.head);
    let date = r.header("date").expect("a Date header");
    assert_eq!(date.len(), 29, "IMF-fixdate: {date}");
    assert!(
        date.ends_with(" GMT") && date.as_bytes()[3] == b',',
        "{date}"
    );
    let t = httpdate::parse_http_date(date).expect("a valid HTTP date");
    assert_eq!(httpdate::fmt_http_date(t), date, "canonical IMF-fixdate");
    let now = SystemTime::now();
    let skew = now.duration_since(t).unwrap_or_else(|e| e.duration());
    assert!(
        skew <= Duration::from_secs(2),
        "Date {date} is {skew:?} off"
    );
}

/// Success, bodiless, protocol-error, parse-error and body-limit responses from `addr`.
fn every_path(addr: SocketAddr, check: impl Fn(&Resp)) {
    check(&one(addr, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n").0);
    check(&one(addr, b"GET /status/404 HTTP/1.1\r\nHost: x\r\n\r\n").0);
    check(&one(addr, b"GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n").0);
    check(&one(addr, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n").0);
    check(&one(addr, b"BAD\r\n\r\n").0);
    check(
        &one(
            addr,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n",
        )
        .0,
    );
}

#[test]
fn on_success_error_and_interim_paths() {
    every_path(addr(), check);
}

#[test]
fn the_embedder_s_server_header_on_every_path() {
    let server = start_configured(|b| {
        b.server_header(Some(HeaderValue::from_static("embedder/1.0")))
    });
    every_path(server.addr, |r| check_with_server(r, Some("embedder/1.0")));
    server.stop().unwrap();
}

#[test]
fn date_moves_with_the_clock() {
    let mut c = Client::connect(addr());
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let first = c.response(false);
    std::thread::sleep(Duration::from_millis(1100));
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let second = c.response(false);
    check(&second);
    assert_ne!(
        first.header("date"),
        second.header("date"),
        "refreshed every second"
    );
}
