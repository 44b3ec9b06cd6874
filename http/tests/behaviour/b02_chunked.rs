//! 2. Chunked request bodies.

use std::time::Duration;

use crate::addr;
use crate::common::{refused, Client};

const HEAD: &str = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

#[test]
fn extensions_and_trailers_are_accepted_and_the_connection_stays_usable() {
    let mut c = Client::connect(addr());
    let body = "5;name=value;x\r\nhello\r\nA\r\n, chunked!\r\n0\r\nTrailer-One: 1\r\nTrailer-Two: 2\r\n\r\n";
    c.send(format!("{HEAD}{body}GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let r = c.response(false);
    assert_eq!((r.status, r.body_str()), (200, "hello, chunked!"));
    assert!(!r.closes());
    let r = c.response(false);
    assert_eq!((r.status, r.body_str()), (200, "Hello, World!"));
    assert!(c.stays_open(Duration::from_millis(100)));
}

#[test]
fn chunked_body_split_across_many_writes() {
    let mut c = Client::connect(addr());
    c.send(HEAD.as_bytes());
    for piece in ["3", "\r", "\nab", "c\r\n", "0\r", "\n", "\r\n"] {
        std::thread::sleep(Duration::from_millis(5));
        c.send(piece.as_bytes());
    }
    let r = c.response(false);
    assert_eq!((r.status, r.body_str()), (200, "abc"));
}

#[test]
fn malformed_chunked_bodies_are_400() {
    let cases = [
        "0x5\r\nhello\r\n0\r\n\r\n",               // not hex-only
        "g\r\nhello\r\n0\r\n\r\n",                 // not hex
        "fffffffffffffffffffff\r\nx\r\n0\r\n\r\n", // overflows
        "5\nhello\r\n0\r\n\r\n",                   // bare LF in the size line
        "5\r\nhello\n0\r\n\r\n",                   // bare LF after data
        "3\r\nhello\r\n0\r\n\r\n",                 // data longer than its size
        "5 \r\nhello\r\n0\r\n\r\n",                // whitespace not before an extension
        "\r\nhello\r\n0\r\n\r\n",                  // empty size
        "0\r\nBad Trailer\r\n\r\n",                // trailer without colon
    ];
    for body in cases {
        refused(addr(), format!("{HEAD}{body}").as_bytes(), 400);
    }
}

#[test]
fn extensions_and_trailers_are_bounded() {
    let long_ext = format!("5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(8 * 1024));
    refused(addr(), format!("{HEAD}{long_ext}").as_bytes(), 400);
    let mut trailers = String::from("0\r\n");
    for i in 0..2000 {
        trailers.push_str(&format!("T{i}: {}\r\n", "v".repeat(20)));
    }
    trailers.push_str("\r\n");
    refused(addr(), format!("{HEAD}{trailers}").as_bytes(), 400);
}
