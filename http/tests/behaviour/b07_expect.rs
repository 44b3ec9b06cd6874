//! 7. `Expect: 100-continue`.

use std::time::Duration;

use crate::addr;
use crate::common::{refused, Client};

#[test]
fn continue_is_sent_when_the_handler_reads_not_before() {
    let mut c = Client::connect(addr());
    c.send(
        b"POST /slow-echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    // The handler sleeps 200 ms before reading: nothing may arrive meanwhile.
    assert!(
        c.stays_open(Duration::from_millis(120)),
        "100 Continue sent too early"
    );
    let interim = c.response(false);
    assert_eq!(interim.status, 100);
    assert!(interim.body.is_empty() && interim.header("content-length").is_none());
    c.send(b"hello");
    let r = c.response(false);
    assert_eq!((r.status, r.body_str()), (200, "hello"));
    assert!(!r.closes());
}

#[test]
fn answering_without_reading_closes_without_continue() {
    let mut c = Client::connect(addr());
    c.send(
        b"POST /noread HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = c.response(false);
    assert_eq!(
        r.status, 200,
        "the final response comes without a 100 first"
    );
    assert!(r.closes());
    assert!(c.closed_within(Duration::from_secs(3)));
}

#[test]
fn a_body_sent_anyway_gets_no_continue() {
    let mut c = Client::connect(addr());
    c.send(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    );
    let r = c.response(false);
    assert_eq!((r.status, r.body_str()), (200, "hello"));
}

#[test]
fn other_expectations_are_417() {
    refused(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\nx",
        417,
    );
}

#[test]
fn a_body_streamed_back_gets_its_continue_before_the_response() {
    let mut c = Client::connect(addr());
    c.send(b"POST /stream-echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = c.response(false);
    assert_eq!(interim.status, 100);
    c.send(b"hello");
    let r = c.response(false);
    assert_eq!(
        (r.status, r.header("content-length"), r.body_str()),
        (200, Some("5"), "hello")
    );
    // Chunked in, chunked out; the connection stays usable.
    c.send(b"POST /stream-echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    let r = c.response(false);
    assert_eq!(
        (r.header("transfer-encoding"), r.body_str()),
        (Some("chunked"), "abcde")
    );
    // HEAD: the body is not sent back, so it is discarded and the next request parses.
    c.send(b"HEAD /stream-echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz");
    let r = c.response(true);
    assert_eq!((r.status, r.header("content-length")), (200, Some("3")));
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(false).body_str(), "Hello, World!");
}
