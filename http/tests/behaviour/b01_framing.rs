//! 1. Framing: Content-Length / Transfer-Encoding conflicts and malformed values.

use crate::addr;
use crate::common::{one, refused, still_serves};

#[test]
fn content_length_and_transfer_encoding_together_is_400() {
    refused(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn final_coding_not_chunked_is_400_and_unknown_coding_is_501() {
    refused(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        400,
    );
    refused(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        400,
    );
    refused(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    );
    refused(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: frob, chunked\r\n\r\n0\r\n\r\n",
        501,
    );
}

#[test]
fn bad_content_length_is_400() {
    for cl in [
        "12a",
        "-1",
        "+5",
        " ",
        "0x10",
        "1.0",
        "99999999999999999999999",
        "5, 6",
    ] {
        let raw = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {cl}\r\n\r\nhello");
        refused(addr(), raw.as_bytes(), 400);
    }
    refused(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
    );
    still_serves(addr());
}

#[test]
fn repeated_equal_content_length_is_accepted() {
    let (r, closed) = one(
        addr(),
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!((r.status, r.body_str()), (200, "hello"));
    assert!(!closed);
}

#[test]
fn http10_with_transfer_encoding_is_400() {
    refused(
        addr(),
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}
