//! Tests of `encode`.

use super::*;
use http::HeaderValue;

const DATE: &[u8; DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";

fn head(status: StatusCode, h: &HeaderMap, f: ResponseFraming, p: Persistence) -> String {
    let mut out = Vec::new();
    response_head(&mut out, status, Some(b"coreline"), h, f, p, DATE);
    String::from_utf8(out).unwrap()
}

#[test]
fn plaintext_head() {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    assert_eq!(
        head(
            StatusCode::OK,
            &h,
            ResponseFraming::Length(13),
            Persistence::KeepAlive
        ),
        "HTTP/1.1 200 OK\r\nServer: coreline\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         content-type: text/plain\r\nContent-Length: 13\r\n\r\n"
    );
}

#[test]
fn server_managed_fields_from_the_handler_are_dropped() {
    let mut h = HeaderMap::new();
    for (n, v) in [
        ("content-length", "99"),
        ("transfer-encoding", "gzip"),
        ("connection", "upgrade"),
        ("server", "evil"),
        ("date", "yesterday"),
        ("keep-alive", "timeout=5"),
        ("x-ok", "1"),
    ] {
        h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    let s = head(
        StatusCode::NOT_FOUND,
        &h,
        ResponseFraming::Chunked,
        Persistence::Close,
    );
    assert_eq!(
        s,
        "HTTP/1.1 404 Not Found\r\nServer: coreline\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\
         \r\nx-ok: 1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn no_body_and_until_close_framing() {
    let h = HeaderMap::new();
    let s = head(
        StatusCode::NO_CONTENT,
        &h,
        ResponseFraming::NoBody,
        Persistence::KeepAliveEcho,
    );
    assert!(s.ends_with("GMT\r\nConnection: keep-alive\r\n\r\n"), "{s}");
    assert!(!s.contains("Content-Length") && !s.contains("Transfer-Encoding"));
    let s = head(
        StatusCode::OK,
        &h,
        ResponseFraming::UntilClose,
        Persistence::KeepAlive,
    );
    assert!(s.ends_with("GMT\r\nConnection: close\r\n\r\n"), "{s}");
    let s = head(
        StatusCode::from_u16(599).unwrap(),
        &h,
        ResponseFraming::NoBody,
        Persistence::Close,
    );
    assert!(s.starts_with("HTTP/1.1 599 \r\n"), "{s}");
}

#[test]
fn no_server_field_without_a_value() {
    let mut out = Vec::new();
    let h = HeaderMap::new();
    let (f, p) = (ResponseFraming::Length(0), Persistence::KeepAlive);
    response_head(&mut out, StatusCode::OK, None, &h, f, p, DATE);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn numbers() {
    for (v, want) in [
        (0u64, "0"),
        (7, "7"),
        (10, "10"),
        (99, "99"),
        (100, "100"),
        (u64::MAX, "18446744073709551615"),
    ] {
        let mut out = Vec::new();
        decimal(&mut out, v);
        assert_eq!(out, want.as_bytes());
    }
    for (v, want) in [
        (0usize, "0\r\n"),
        (10, "a\r\n"),
        (4096, "1000\r\n"),
        (0xdead, "dead\r\n"),
    ] {
        let mut out = Vec::new();
        chunk_head(&mut out, v);
        assert_eq!(out, want.as_bytes());
    }
}

#[test]
fn error_response_closes() {
    let mut out = Vec::new();
    error_response(&mut out, StatusCode::BAD_REQUEST, None, "bad", DATE);
    let s = String::from_utf8(out).unwrap();
    assert!(s.starts_with("HTTP/1.1 400 Bad Request\r\nDate: "), "{s}");
    assert!(s.contains("Content-Length: 4\r\nConnection: close\r\n\r\nbad\n"));
}

#[test]
fn length_fields_of_every_width() {
    for v in [0u64, 9, 10, 42, 99, 100, 505, 999, 1000, 65_536, u64::MAX] {
        let mut out = Vec::new();
        length_field(&mut out, v);
        assert_eq!(out, format!("Content-Length: {v}\r\n").as_bytes());
    }
}
