//! 6. HEAD, and statuses without a body.

use std::time::Duration;

use crate::addr;
use crate::common::Client;

#[test]
fn head_has_get_headers_and_no_body() {
    let mut c = Client::connect(addr());
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let get = c.response(false);
    c.send(b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.response(true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("13"));
    assert_eq!(head.header("content-type"), get.header("content-type"));
    // No body bytes follow: the next response starts right away.
    c.send(b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let big = c.response(true);
    assert_eq!(big.header("content-length"), Some("102400"));
    let next = c.response(false);
    assert_eq!((next.status, next.body_str()), (200, "Hello, World!"));
    // The GET of the same: exactly that many bytes, then the connection is still usable.
    c.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let big = c.response(false);
    assert!(big.body.len() == 102_400 && big.body.iter().all(|&b| b == b'x'));
    assert_eq!(c.response(false).body_str(), "Hello, World!");
}

#[test]
fn head_of_a_stream_says_chunked_and_sends_nothing() {
    let mut c = Client::connect(addr());
    c.send(b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(true);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert!(c.stays_open(Duration::from_millis(100)));
    assert!(c.pending().is_empty());
}

#[test]
fn streams_are_chunked_for_11_and_close_delimited_for_10() {
    let mut c = Client::connect(addr());
    c.send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.body_str(), "one,two,three");
    let mut c = Client::connect(addr());
    c.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response(false);
    assert!(r.closes() && r.header("content-length").is_none());
    assert_eq!(r.body_str(), "one,two,three");
}

#[test]
fn no_content_and_not_modified_have_no_body_or_framing() {
    for code in [204, 304] {
        let mut c = Client::connect(addr());
        c.send(format!("GET /status/{code} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = c.response(true);
        assert_eq!(r.status, code);
        assert!(r.header("content-length").is_none(), "{}", r.head);
        assert!(r.header("transfer-encoding").is_none(), "{}", r.head);
        assert!(
            c.stays_open(Duration::from_millis(100)),
            "no body bytes follow"
        );
        assert!(c.pending().is_empty());
    }
}

#[test]
fn a_handler_returning_1xx_gets_a_500_instead() {
    let mut c = Client::connect(addr());
    c.send(b"GET /status/103 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(false).status, 500);
}
