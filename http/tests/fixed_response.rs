//! `Handler::fixed_response`, end to end over raw bytes: a request the server answers
//! straight from its parsed head (no body, no `Upgrade`, access log off) gets the same
//! bytes, `Date` aside, as one it builds and answers through the ordinary path (a body, an
//! `Upgrade` field, the access log on); HEAD, HTTP/1.0, `Connection: close`, pipelining
//! and the per-connection request limit behave as for any response; `call` is never asked
//! for a fixed route; a handler whose `fixed_response` panics costs its client a 500 and
//! nobody else anything.

mod common;

/// This target speaks plain HTTP (`common` asks).
pub const OVER_TLS: bool = false;

use std::future::{ready, Ready};
use std::time::Duration;

use common::Running;
use common::{one, Client, Resp};
use coreline_http::{AccessLog, AccessLogFormat, Body, FixedResponse, Handler, Limits, Server};
use coreline_runtime::Cores;
use http::{Method, Request, Response, StatusCode};

/// `/hello`: a fixed 200; `/gone`: a fixed 410 that asks to close; `/panic`: its
/// `fixed_response` panics; anything else, and every call: "called".
struct Fixed {
    hello: FixedResponse,
    gone: FixedResponse,
}

impl Fixed {
    fn new() -> Fixed {
        let hello = Response::builder()
            .header("content-type", "text/plain")
            .header("x-fixed", "yes")
            .body("fixed hello")
            .unwrap();
        let gone = Response::builder()
            .status(StatusCode::GONE)
            .header("connection", "close")
            .body("gone")
            .unwrap();
        Fixed {
            hello: FixedResponse::new(hello).unwrap(),
            gone: FixedResponse::new(gone).unwrap(),
        }
    }
}

impl Handler for Fixed {
    type Future = Ready<Response<Body>>;

    fn call(&self, request: Request<Body>) -> Self::Future {
        drop(request);
        ready(Response::new(Body::from_static(b"called")))
    }

    fn fixed_response(&self, method: &Method, path: &str) -> Option<&FixedResponse> {
        match path {
            "/hello" if method == Method::GET || method == Method::HEAD => Some(&self.hello),
            "/gone" => Some(&self.gone),
            "/panic" => panic!("fixed_response panics (on purpose)"),
            _ => None,
        }
    }
}

fn start(limits: Limits, log: Option<AccessLog>) -> Running {
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .limits(limits)
        .access_log(log)
        .build(Fixed::new)
        .expect("build server");
    common::run_on_thread(server)
}

/// The response's bytes with its `Date` line taken out.
fn without_date(r: &Resp) -> String {
    let head: Vec<&str> = r
        .head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
        .collect();
    format!("{}|{}", head.join("\r\n"), String::from_utf8_lossy(&r.body))
}

/// Requests answered from the head, and requests for the same route that take the
/// ordinary path, each with what they must share.
#[test]
fn both_ways_send_the_same_bytes() {
    let running = start(Limits::default(), None);
    let addr = running.addr;
    let quick = one(addr, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").0;
    assert_eq!(quick.status, 200);
    assert_eq!(quick.body_str(), "fixed hello");
    assert_eq!(quick.header("x-fixed"), Some("yes"));
    assert_eq!(quick.header("content-length"), Some("11"));
    assert!(quick.header("date").is_some());
    let built: [&[u8]; 4] = [
        // A body to read (then not read: the handler is not called).
        b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
        // An upgrade offer to refuse.
        b"GET /hello HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        // Absolute-form: the path is known once the URI is parsed.
        b"GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\n",
        // A query: not part of the path.
        b"GET /hello?a=b HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for raw in built {
        let r = one(addr, raw).0;
        assert_eq!(
            without_date(&r),
            without_date(&quick),
            "for {}",
            String::from_utf8_lossy(raw)
        );
    }
    // Other methods are the handler's: `/hello` is fixed for GET and HEAD only.
    let post = one(
        addr,
        b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    .0;
    assert_eq!(post.body_str(), "called");
    // A target the URI parser refuses is still a 400, though its path is a fixed route.
    let bad = one(addr, b"GET /hello?a<b HTTP/1.1\r\nHost: x\r\n\r\n").0;
    assert_eq!(bad.status, 400, "{}", bad.head);
    running.stop().unwrap();
}

/// HEAD, HTTP/1.0 (with and without keep-alive), `Connection: close`, a fixed response
/// that asks to close, pipelining and the request limit.
#[test]
fn persistence_and_head_as_for_any_response() {
    let running = start(Limits::default().max_requests_per_connection(3), None);
    let addr = running.addr;
    let mut c = Client::connect(addr);
    c.send(b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.response(true);
    assert_eq!(head.header("content-length"), Some("11"));
    assert!(head.body.is_empty() && !head.closes());
    // Pipelined: two answers in one write, the second the connection's third request,
    // which the limit makes its last.
    c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    let second = c.response(false);
    assert!(!second.closes());
    let third = c.response(false);
    assert!(third.closes(), "{}", third.head);
    assert!(c.closed_within(Duration::from_secs(3)));

    let (r, closed) = one(addr, b"GET /hello HTTP/1.0\r\n\r\n");
    assert!(r.closes() && closed, "{}", r.head);
    let mut c = Client::connect(addr);
    c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.header("connection"), Some("keep-alive"));
    assert!(c.stays_open(Duration::from_millis(200)));
    let (r, closed) = one(
        addr,
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.closes() && closed && r.body_str() == "fixed hello");
    let (r, closed) = one(addr, b"DELETE /gone HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((r.status, r.body_str()), (410, "gone"));
    assert!(r.closes() && closed, "{}", r.head);
    running.stop().unwrap();
}

/// A panic in `fixed_response` is the handler's: a 500 and a close for that client, and
/// the core goes on serving.
#[test]
fn a_panicking_fixed_response_costs_one_request() {
    let running = start(Limits::default(), None);
    let (r, closed) = one(running.addr, b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 500);
    assert!(r.closes() && closed);
    let (r, _) = one(running.addr, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.body_str(), "fixed hello");
    running.stop().unwrap();
}

/// With the access log on, every fixed answer is built and logged, with the same bytes.
#[test]
fn with_the_access_log_each_fixed_answer_is_logged() {
    let path = std::env::temp_dir().join(format!("coreline-fixed-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let log = AccessLog::open(&path, AccessLogFormat::Combined).unwrap();
    let running = start(Limits::default(), Some(log));
    let mut c = Client::connect(running.addr);
    c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nHEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(false).body_str(), "fixed hello");
    assert!(c.response(true).body.is_empty());
    drop(c);
    running.stop().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("\"GET /hello HTTP/1.1\" 200 11"),
        "{text}"
    );
    assert!(
        lines[1].contains("\"HEAD /hello HTTP/1.1\" 200 0"),
        "{text}"
    );
}
