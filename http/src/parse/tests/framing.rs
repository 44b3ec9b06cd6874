//! Body framing, persistence and expectation rules, on raw bytes.

use http::StatusCode;

use super::head::{status, with_head};
use crate::parse::*;

const BAD: StatusCode = StatusCode::BAD_REQUEST;

fn request(version: &str, fields: &str) -> Vec<u8> {
    format!("POST /x HTTP/{version}\r\nHost: a\r\n{fields}\r\n").into_bytes()
}

fn framing(fields: &str) -> RequestFraming {
    with_head(&request("1.1", fields), |head| head.framing)
}

fn framing_status(fields: &str) -> StatusCode {
    status(&request("1.1", fields))
}

#[test]
fn content_length_frames_the_body() {
    assert_eq!(framing(""), RequestFraming::None);
    assert_eq!(framing("Content-Length: 5\r\n"), RequestFraming::Length(5));
    assert_eq!(framing("content-length: 0\r\n"), RequestFraming::Length(0));
    assert_eq!(
        framing("Content-Length:  7 \r\n"),
        RequestFraming::Length(7)
    );
    assert_eq!(
        framing("Content-Length: 18446744073709551615\r\n"),
        RequestFraming::Length(u64::MAX)
    );
}

#[test]
fn content_length_must_be_plain_digits() {
    for value in [
        "+5",
        "-5",
        "5 5",
        "0x5",
        "5a",
        "",
        "1e3",
        "18446744073709551616",
        "5,",
        ",5",
    ] {
        let fields = format!("Content-Length: {value}\r\n");
        assert_eq!(framing_status(&fields), BAD, "{value:?}");
    }
}

#[test]
fn repeated_content_lengths_must_agree() {
    assert_eq!(
        framing("Content-Length: 5, 5\r\n"),
        RequestFraming::Length(5)
    );
    assert_eq!(
        framing("Content-Length: 5\r\nContent-Length: 5\r\n"),
        RequestFraming::Length(5)
    );
    assert_eq!(framing_status("Content-Length: 5, 6\r\n"), BAD);
    assert_eq!(
        framing_status("Content-Length: 5\r\nContent-Length: 6\r\n"),
        BAD
    );
    assert_eq!(
        framing_status("Content-Length: 5\r\nContent-Length: 5, 6\r\n"),
        BAD
    );
}

#[test]
fn chunked_must_be_the_final_coding_and_appear_once() {
    assert_eq!(
        framing("Transfer-Encoding: chunked\r\n"),
        RequestFraming::Chunked
    );
    assert_eq!(
        framing("Transfer-Encoding: CHUNKED\r\n"),
        RequestFraming::Chunked
    );
    assert_eq!(
        framing("Transfer-Encoding: , chunked\r\n"),
        RequestFraming::Chunked
    );
    for value in [
        "gzip",
        "chunked, gzip",
        "chunked, chunked",
        "",
        "chunked;x=1",
        "chunked x",
    ] {
        let fields = format!("Transfer-Encoding: {value}\r\n");
        assert_eq!(framing_status(&fields), BAD, "{value:?}");
    }
    let twice = "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n";
    assert_eq!(framing_status(twice), BAD);
    let then_gzip = "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n";
    assert_eq!(framing_status(then_gzip), BAD);
}

#[test]
fn codings_we_cannot_decode_are_501() {
    for fields in [
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: x-custom, chunked\r\n",
        "Transfer-Encoding: identity, chunked\r\n",
        "Transfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n",
    ] {
        assert_eq!(
            framing_status(fields),
            StatusCode::NOT_IMPLEMENTED,
            "{fields:?}"
        );
    }
}

#[test]
fn content_length_with_transfer_encoding_is_400() {
    let both = "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n";
    assert_eq!(framing_status(both), BAD);
    let reversed = "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n";
    assert_eq!(framing_status(reversed), BAD);
}

#[test]
fn transfer_encoding_in_http_1_0_is_400() {
    assert_eq!(
        status(&request("1.0", "Transfer-Encoding: chunked\r\n")),
        BAD
    );
    let with_length = with_head(&request("1.0", "Content-Length: 3\r\n"), |head| {
        head.framing
    });
    assert_eq!(with_length, RequestFraming::Length(3));
}

#[test]
fn http_1_1_persists_unless_close() {
    let keep_alive =
        |version: &str, fields: &str| with_head(&request(version, fields), |head| head.keep_alive);
    assert!(keep_alive("1.1", ""));
    assert!(keep_alive("1.1", "Connection: keep-alive\r\n"));
    assert!(keep_alive("1.1", "Connection: closed\r\n"));
    assert!(!keep_alive("1.1", "Connection: close\r\n"));
    assert!(!keep_alive("1.1", "Connection: Upgrade, CLOSE\r\n"));
    assert!(!keep_alive(
        "1.1",
        "Connection: te\r\nConnection: close\r\n"
    ));
    assert!(!keep_alive("1.0", ""));
    assert!(keep_alive("1.0", "Connection: keep-alive\r\n"));
    assert!(keep_alive("1.0", "Connection: Keep-Alive\r\n"));
    assert!(!keep_alive("1.0", "Connection: keep-alive, close\r\n"));
}

#[test]
fn expect_100_continue_or_417() {
    let expect =
        |version: &str, fields: &str| with_head(&request(version, fields), |head| head.expect);
    assert_eq!(expect("1.1", ""), Expect::None);
    assert_eq!(expect("1.1", "Expect: 100-continue\r\n"), Expect::Continue);
    assert_eq!(expect("1.1", "Expect: 100-Continue\r\n"), Expect::Continue);
    assert_eq!(expect("1.0", "Expect: 100-continue\r\n"), Expect::None);
    for value in ["foo", "100-continue, foo", "", "100-continuex", "200-ok"] {
        let fields = format!("Expect: {value}\r\n");
        assert_eq!(
            framing_status(&fields),
            StatusCode::EXPECTATION_FAILED,
            "{value:?}"
        );
    }
}
