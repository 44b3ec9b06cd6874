//! Response heads: framing under the request side's rules, and the no-body cases.

use std::mem::MaybeUninit;

use http::{StatusCode, Version};

use crate::parse::{parse_response_head, HeadError, ResponseFraming};

fn parse(input: &str, head_request: bool) -> Result<Option<(ResponseFraming, bool)>, HeadError> {
    let mut slots = [MaybeUninit::uninit(); 16];
    parse_response_head(input.as_bytes(), &mut slots, 1024, head_request)
        .map(|head| head.map(|h| (h.framing, h.keep_alive)))
}

fn framing(input: &str) -> ResponseFraming {
    parse(input, false).unwrap().unwrap().0
}

fn rejected(input: &str) -> &'static str {
    let error = parse(input, false).unwrap_err();
    assert_eq!(error.status, StatusCode::BAD_GATEWAY);
    error.reason
}

#[test]
fn lengths_chunked_and_until_close() {
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
        ResponseFraming::Length(5)
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ResponseFraming::Chunked
    );
    assert_eq!(
        parse("HTTP/1.1 200 OK\r\n\r\n", false).unwrap(),
        Some((ResponseFraming::UntilClose, false))
    );
}

#[test]
fn no_body_cases_ignore_the_length() {
    for head in [
        "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\n\r\n",
    ] {
        assert_eq!(framing(head), ResponseFraming::None, "{head}");
    }
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(
        parse(head, true).unwrap(),
        Some((ResponseFraming::None, true))
    );
}

#[test]
fn persistence() {
    assert_eq!(
        parse(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false
        )
        .unwrap(),
        Some((ResponseFraming::Length(0), false))
    );
    assert_eq!(
        parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false).unwrap(),
        Some((ResponseFraming::Length(0), false))
    );
    let mut slots = [MaybeUninit::uninit(); 4];
    let head = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\nrest";
    let parsed = parse_response_head(head, &mut slots, 1024, false)
        .unwrap()
        .unwrap();
    assert!(parsed.keep_alive);
    assert_eq!(parsed.version, Version::HTTP_10);
    assert_eq!(parsed.head_len, head.len() - 4);
}

#[test]
fn smuggling_shapes_are_refused() {
    assert_eq!(
        rejected("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
        "both Content-Length and Transfer-Encoding"
    );
    assert_eq!(
        rejected("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        "conflicting Content-Length values"
    );
    assert_eq!(
        rejected("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n"),
        "conflicting Content-Length values"
    );
    assert_eq!(
        rejected("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n"),
        "invalid Content-Length"
    );
    assert_eq!(
        rejected("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        "final transfer coding is not chunked"
    );
    assert_eq!(
        rejected(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        "chunked applied more than once"
    );
    assert_eq!(
        rejected("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
        "line not ended by CRLF"
    );
    assert_eq!(rejected("HTTP/2 200 OK\r\n\r\n"), "malformed response head");
}

#[test]
fn incomplete_and_too_large() {
    assert_eq!(parse("HTTP/1.1 200 OK\r\nContent-Le", false).unwrap(), None);
    let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(2000));
    assert_eq!(rejected(&long), "response head too large");
}
