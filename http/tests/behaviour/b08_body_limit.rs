//! 8. Request bodies over the limit, and bodies the handler leaves unread.

use std::time::Duration;

use crate::addr;
use crate::common::Client;

#[test]
fn content_length_over_the_limit_is_413_without_reading_the_body() {
    let mut c = Client::connect(addr());
    // Only the head is sent: the answer must not wait for the 2 MB.
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 413);
    assert!(r.closes());
    assert!(c.closed_within(Duration::from_secs(3)));
}

#[test]
fn chunked_body_growing_over_the_limit_is_413() {
    let mut c = Client::connect(addr());
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = format!("10000\r\n{}\r\n", "y".repeat(0x10000));
    for _ in 0..17 {
        if std::io::Write::write_all(&mut c.stream, chunk.as_bytes()).is_err() {
            break;
        }
    }
    let r = c.response(false);
    assert_eq!(r.status, 413);
    assert!(r.closes());
}

#[test]
fn exactly_the_limit_is_fine() {
    let mut c = Client::connect(addr());
    let body = vec![b'z'; 1024 * 1024];
    c.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    c.send(&body);
    let r = c.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), body.len());
}

#[test]
fn small_unread_body_is_discarded_and_the_connection_kept() {
    let mut c = Client::connect(addr());
    c.send(b"POST /noread HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 200);
    assert!(!r.closes());
    assert_eq!(c.response(false).body_str(), "Hello, World!");
}
