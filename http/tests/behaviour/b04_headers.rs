//! 4. Header fields and Host.

use crate::addr;
use crate::common::{one, refused, still_serves};

fn req(fields: &str) -> Vec<u8> {
    format!("GET /plaintext HTTP/1.1\r\n{fields}\r\n").into_bytes()
}

#[test]
fn head_over_16k_or_over_100_fields_is_431() {
    let big = format!("Host: x\r\nX-Big: {}\r\n", "v".repeat(16 * 1024));
    refused(addr(), &req(&big), 431);
    let mut many = String::from("Host: x\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    refused(addr(), &req(&many), 431);
    // Exactly 100 fields is fine.
    let mut hundred = String::from("Host: x\r\n");
    for i in 0..99 {
        hundred.push_str(&format!("X-{i}: v\r\n"));
    }
    assert_eq!(one(addr(), &req(&hundred)).0.status, 200);
}

#[test]
fn malformed_field_lines_are_400() {
    for fields in [
        "Host: x\r\nX-A : v\r\n",           // whitespace before the colon
        "Host: x\r\nX-A: v\r\n folded\r\n", // obs-fold
        "Host: x\r\nNo colon here\r\n",
        "Host: x\r\n: empty name\r\n",
        "Host: x\r\nX-A: a\x00b\r\n", // NUL in a value
        "Host: x\r\nX-A: a\rb\r\n",   // bare CR in a value
        "Host: x\r\nX-A: a\nb\r\n",   // bare LF
    ] {
        refused(addr(), &req(fields), 400);
    }
    still_serves(addr());
}

#[test]
fn host_is_required_once_on_http11() {
    refused(addr(), &req(""), 400);
    refused(addr(), &req("Host: a\r\nHost: b\r\n"), 400);
    let (r, _) = one(addr(), b"GET /plaintext HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "HTTP/1.0 needs no Host");
}
