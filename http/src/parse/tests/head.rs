//! Header section rules (and the test helpers for heads), on raw bytes.

use http::{Method, StatusCode, Version};

use crate::parse::*;

/// Parses a complete, valid head and hands it to `check`.
pub(super) fn with_head<R>(bytes: &[u8], check: impl FnOnce(&RequestHead<'_, '_>) -> R) -> R {
    with_head_limits(bytes, &HeadLimits::default(), check)
}

pub(super) fn with_head_limits<R>(
    bytes: &[u8],
    limits: &HeadLimits,
    check: impl FnOnce(&RequestHead<'_, '_>) -> R,
) -> R {
    let mut slots = HeaderSlots::new();
    match parse_head(bytes, &mut slots, limits) {
        Ok(Some(head)) => check(&head),
        other => panic!(
            "{:?}: expected a head, got {:?}",
            show(bytes),
            other.map(|_| ())
        ),
    }
}

/// The status of the error a head must produce.
pub(super) fn status(bytes: &[u8]) -> StatusCode {
    status_limits(bytes, &HeadLimits::default())
}

pub(super) fn status_limits(bytes: &[u8], limits: &HeadLimits) -> StatusCode {
    let mut slots = HeaderSlots::new();
    match parse_head(bytes, &mut slots, limits) {
        Err(error) => error.status,
        Ok(head) => panic!(
            "{:?}: expected an error, got {:?}",
            show(bytes),
            head.is_some()
        ),
    }
}

pub(super) fn is_incomplete(bytes: &[u8], limits: &HeadLimits) -> bool {
    matches!(parse_head(bytes, &mut HeaderSlots::new(), limits), Ok(None))
}

pub(super) fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned()
}

const BAD: StatusCode = StatusCode::BAD_REQUEST;

#[test]
fn parses_a_simple_request() {
    let request = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\nGET";
    with_head(request, |head| {
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.target, "/plaintext");
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.head_len, request.len() - 3);
        assert_eq!(head.framing, RequestFraming::None);
        assert!(head.keep_alive);
        assert_eq!(head.expect, Expect::None);
        assert_eq!(head.host, Some(&b"127.0.0.1:8080"[..]));
        assert_eq!(head.headers.len(), 1);
    });
}

#[test]
fn yields_fields_in_order_with_trimmed_values() {
    let request = b"GET / HTTP/1.1\r\nHost: a\r\nX-One:  1 \t\r\nx-two:\r\nX-Three:3\r\n\r\n";
    with_head(request, |head| {
        let fields: Vec<_> = head.headers.iter().map(|f| (f.name, f.value)).collect();
        let expected: [(&str, &[u8]); 4] = [
            ("Host", b"a"),
            ("X-One", b"1"),
            ("x-two", b""),
            ("X-Three", b"3"),
        ];
        assert_eq!(fields, expected);
        assert_eq!(head.headers.get("x-one"), Some(&b"1"[..]));
        assert_eq!(head.headers.get("missing"), None);
    });
}

#[test]
fn heads_over_the_limit_are_431_even_before_they_end() {
    let limits = HeadLimits::default();
    let filler = |n: usize| format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}", "v".repeat(n));
    let base = filler(0).len();
    let at_limit = format!("{}\r\n\r\n", filler(16 * 1024 - base - 4));
    with_head(at_limit.as_bytes(), |head| {
        assert_eq!(head.head_len, 16 * 1024)
    });
    let over = format!("{}\r\n\r\n", filler(16 * 1024 - base - 3));
    assert_eq!(
        status(over.as_bytes()),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let unfinished = filler(16 * 1024 - base + 1);
    assert_eq!(
        status(unfinished.as_bytes()),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert!(is_incomplete(&unfinished.as_bytes()[..16 * 1024], &limits));
}

#[test]
fn more_than_100_fields_is_431() {
    let request = |fields: usize| {
        let lines: String = (1..fields).map(|i| format!("X-{i}: v\r\n")).collect();
        format!("GET / HTTP/1.1\r\nHost: a\r\n{lines}\r\n")
    };
    with_head(request(100).as_bytes(), |head| {
        assert_eq!(head.headers.len(), 100)
    });
    assert_eq!(
        status(request(101).as_bytes()),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let limits = HeadLimits {
        max_headers: 2,
        ..HeadLimits::default()
    };
    with_head_limits(request(2).as_bytes(), &limits, |head| {
        assert_eq!(head.headers.len(), 2)
    });
    assert_eq!(
        status_limits(request(3).as_bytes(), &limits),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[test]
fn malformed_field_lines_are_400() {
    for fields in [
        &b"Host : a\r\n"[..],
        b"Host\t: a\r\n",
        b"Host: a\r\n folded\r\n",
        b"Host: a\r\n\tfolded\r\n",
        b" Host: a\r\n",
        b"Host: a\r\nNoColon\r\n",
        b"Host: a\r\n: empty-name\r\n",
        b"Host: a\r\nX: nul\0here\r\n",
        b"Host: a\r\nX: bare\rcr\r\n",
        b"Host: a\r\nX: bare\nY: lf\r\n",
        b"Host: a\r\nX: ctl\x01\r\n",
        b"Host: a\r\nX: del\x7f\r\n",
        b"Host: a\r\nX\x00Y: a\r\n",
        b"Host: a\n",
    ] {
        let request = [&b"GET / HTTP/1.1\r\n"[..], fields, b"\r\n"].concat();
        assert_eq!(status(&request), BAD, "{:?}", show(&request));
    }
    // The same rules hold on the HTTP/1.2 path, which parses fields separately.
    assert_eq!(status(b"GET / HTTP/1.2\r\nHost : a\r\n\r\n"), BAD);
    assert_eq!(status(b"GET / HTTP/1.2\r\nHost: a\nX: b\r\n\r\n"), BAD);
}

#[test]
fn host_must_appear_once_in_1_1() {
    assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), BAD);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), BAD);
    assert_eq!(status(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), BAD);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), BAD);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), BAD);
    with_head(b"GET / HTTP/1.0\r\n\r\n", |head| {
        assert_eq!(head.host, None)
    });
    with_head(b"GET / HTTP/1.1\r\nHOST: [::1]:80\r\n\r\n", |head| {
        assert_eq!(head.host, Some(&b"[::1]:80"[..]));
    });
}

#[test]
fn partial_heads_are_incomplete() {
    let limits = HeadLimits::default();
    for partial in [
        &b""[..],
        b"G",
        b"GET / HTTP/1.1",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r",
    ] {
        assert!(is_incomplete(partial, &limits), "{:?}", show(partial));
    }
    // Errors are reported as soon as they are certain.
    assert_eq!(
        status(b"GET / HTTP/2.0"),
        StatusCode::HTTP_VERSION_NOT_SUPPORTED
    );
    assert_eq!(status(b"GET / HTTX"), BAD);
    assert_eq!(status(b"GET /\x01"), BAD);
}
