//! 3. The request line.

use std::time::Duration;

use crate::addr;
use crate::common::{one, refused, Client};

#[test]
fn bad_method_or_target_is_400() {
    for line in [
        "GE@T / HTTP/1.1",
        "GET  / HTTP/1.1",
        "GET /a b HTTP/1.1",
        "GET plaintext HTTP/1.1",
        "GET /\x7f HTTP/1.1",
        " GET / HTTP/1.1",
    ] {
        refused(addr(), format!("{line}\r\nHost: x\r\n\r\n").as_bytes(), 400);
    }
}

#[test]
fn target_over_8k_is_414() {
    let target = format!("/{}", "a".repeat(8 * 1024 + 1));
    refused(
        addr(),
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        414,
    );
    // Even before the line ends.
    let mut c = Client::connect(addr());
    c.send(format!("GET {target}").as_bytes());
    let r = c.response(false);
    assert_eq!(r.status, 414);
}

#[test]
fn absolute_form_is_accepted() {
    let (r, _) = one(
        addr(),
        b"GET http://example.com/plaintext HTTP/1.1\r\nHost: example.com\r\n\r\n",
    );
    assert_eq!((r.status, r.body_str()), (200, "Hello, World!"));
}

#[test]
fn absolute_form_authority_replaces_host() {
    // RFC 9112 §3.2.2: the target's authority is the host; the Host field is ignored.
    let (r, _) = one(
        addr(),
        b"GET http://a.example/host HTTP/1.1\r\nHost: b.example\r\n\r\n",
    );
    assert_eq!((r.status, r.body_str()), (200, "a.example"));
    let (r, _) = one(addr(), b"GET /host HTTP/1.1\r\nHost: b.example\r\n\r\n");
    assert_eq!(r.body_str(), "b.example", "origin-form keeps the Host field");
}

#[test]
fn authority_form_is_only_for_connect() {
    for line in [
        "GET example.com:80 HTTP/1.1",
        "POST example.com:80 HTTP/1.1",
        "OPTIONS example.com:443 HTTP/1.1",
        "CONNECT / HTTP/1.1",
        "CONNECT http://example.com/ HTTP/1.1",
        "GET http:///plaintext HTTP/1.1",
        "GET http://user@example.com/plaintext HTTP/1.1",
    ] {
        refused(addr(), format!("{line}\r\nHost: x\r\n\r\n").as_bytes(), 400);
    }
}

#[test]
fn leading_empty_lines_are_skipped() {
    let (r, _) = one(
        addr(),
        b"\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn http_1_x_above_1_is_treated_as_1_1() {
    let mut c = Client::connect(addr());
    c.send(b"GET /plaintext HTTP/1.7\r\nHost: x\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 200);
    assert!(r.head.starts_with("HTTP/1.1 200"));
    assert!(!r.closes(), "1.1 semantics: persistent");
    assert!(c.stays_open(Duration::from_millis(100)));
}

#[test]
fn major_version_2_or_more_is_505() {
    refused(addr(), b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    refused(addr(), b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505);
}

#[test]
fn not_http_is_400_and_no_http09() {
    refused(addr(), b"GET / FTP/1.1\r\nHost: x\r\n\r\n", 400);
    refused(addr(), b"GET / http/1.1\r\nHost: x\r\n\r\n", 400);
    refused(addr(), b"GET /\r\n\r\n", 400);
    refused(addr(), b"GET / HTTP/1\r\nHost: x\r\n\r\n", 400);
}
