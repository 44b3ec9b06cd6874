//! Request line rules, on raw bytes.

use http::{StatusCode, Version};

use super::head::{is_incomplete, show, status, with_head};
use crate::parse::*;

const BAD: StatusCode = StatusCode::BAD_REQUEST;

#[test]
fn standard_and_extension_methods() {
    for method in [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "PURGE",
    ] {
        let request = format!("{method} /x HTTP/1.1\r\nHost: a\r\n\r\n");
        with_head(request.as_bytes(), |head| {
            assert_eq!(head.method.as_str(), method)
        });
    }
    with_head(
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        |head| {
            assert_eq!(head.target, "example.com:443");
        },
    );
}

#[test]
fn bad_method_tokens_are_400() {
    for request in [
        &b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"G\xc3\xa9T / HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        assert_eq!(status(request), BAD, "{:?}", show(request));
    }
}

#[test]
fn bad_targets_are_400() {
    for request in [
        &b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET foo HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET ?x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        assert_eq!(status(request), BAD, "{:?}", show(request));
    }
}

#[test]
fn absolute_and_asterisk_forms_are_accepted() {
    with_head(
        b"GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n",
        |head| {
            assert_eq!(head.target, "http://example.com/a?b");
        },
    );
    with_head(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", |head| {
        assert_eq!(head.target, "*")
    });
}

#[test]
fn the_absolute_form_authority_replaces_host() {
    with_head(
        b"GET http://a.example:8080/x?y HTTP/1.1\r\nHost: b.example\r\n\r\n",
        |head| assert_eq!(head.host, Some(&b"a.example:8080"[..])),
    );
    with_head(b"GET https://a.example HTTP/1.0\r\n\r\n", |head| {
        assert_eq!(head.host, Some(&b"a.example"[..]))
    });
    with_head(b"GET /x HTTP/1.1\r\nHost: b.example\r\n\r\n", |head| {
        assert_eq!(head.host, Some(&b"b.example"[..]))
    });
    // The Host field is still required (RFC 9112 §3.2), and checked.
    for request in [
        &b"GET http://a.example/ HTTP/1.1\r\n\r\n"[..],
        b"GET http://a.example/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET http://a.example/ HTTP/1.1\r\nHost: a/b\r\n\r\n",
    ] {
        assert_eq!(status(request), BAD, "{:?}", show(request));
    }
}

#[test]
fn absolute_forms_without_a_usable_authority_are_400() {
    for request in [
        &b"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET http://user@a.example/x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET mailto:a HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET http://a\"b/ HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        assert_eq!(status(request), BAD, "{:?}", show(request));
    }
}

#[test]
fn the_authority_form_is_for_connect_only() {
    for method in ["GET", "POST", "OPTIONS", "PUT"] {
        let request = format!("{method} example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(status(request.as_bytes()), BAD, "{request}");
    }
    for target in ["[::1]:443", "10.0.0.1:80", "example.com:443"] {
        let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        with_head(request.as_bytes(), |head| assert_eq!(head.target, target));
    }
    for target in [
        "/",
        "*",
        "http://example.com/",
        "example.com",
        "example.com:",
        ":443",
        "a:b",
    ] {
        let request = format!("CONNECT {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(status(request.as_bytes()), BAD, "{request}");
    }
}

#[test]
fn use_target_host_replaces_host_only_for_absolute_form() {
    let with = |method: http::Method, target: &str| {
        let mut request = http::Request::builder()
            .method(method)
            .uri(target)
            .header("host", "b.example")
            .body(())
            .unwrap();
        use_target_host(&mut request);
        let hosts: Vec<_> = request.headers().get_all("host").iter().cloned().collect();
        assert_eq!(hosts.len(), 1, "{target}");
        hosts[0].to_str().unwrap().to_owned()
    };
    assert_eq!(
        with(http::Method::GET, "http://a.example:81/x"),
        "a.example:81"
    );
    assert_eq!(with(http::Method::GET, "/x"), "b.example");
    assert_eq!(with(http::Method::OPTIONS, "*"), "b.example");
    assert_eq!(with(http::Method::CONNECT, "a.example:443"), "b.example");
}

#[test]
fn targets_over_the_limit_are_414_even_before_they_end() {
    let limits = HeadLimits::default();
    let at_limit = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(8191));
    with_head(at_limit.as_bytes(), |head| {
        assert_eq!(head.target.len(), 8192)
    });
    let over = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(8192));
    assert_eq!(status(over.as_bytes()), StatusCode::URI_TOO_LONG);
    let unfinished = format!("GET /{}", "a".repeat(8192));
    assert_eq!(status(unfinished.as_bytes()), StatusCode::URI_TOO_LONG);
    assert!(is_incomplete(
        &unfinished.as_bytes()[..unfinished.len() - 1],
        &limits
    ));
}

#[test]
fn leading_empty_lines_are_skipped_but_bounded() {
    let request = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    with_head(request, |head| assert_eq!(head.head_len, request.len()));
    assert!(is_incomplete(b"\r\n\r\n\r", &HeadLimits::default()));
    let many = format!("{}GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\r\n".repeat(9));
    assert_eq!(status(many.as_bytes()), BAD);
    assert_eq!(status(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), BAD);
    assert_eq!(status(b"\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), BAD);
}

#[test]
fn http_1_x_above_1_is_1_1() {
    for minor in 2..=9 {
        let request = format!("GET / HTTP/1.{minor}\r\nHost: a\r\nX-Y: z \r\n\r\n");
        with_head(request.as_bytes(), |head| {
            assert_eq!(head.version, Version::HTTP_11);
            assert_eq!(head.head_len, request.len());
            let fields: Vec<_> = head.headers.iter().map(|f| (f.name, f.value)).collect();
            let expected: [(&str, &[u8]); 2] = [("Host", b"a"), ("X-Y", b"z")];
            assert_eq!(fields, expected);
        });
    }
    with_head(b"GET / HTTP/1.0\r\n\r\n", |head| {
        assert_eq!(head.version, Version::HTTP_10)
    });
}

#[test]
fn other_major_versions_are_505() {
    for request in [
        &b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"[..],
        b"GET / HTTP/3.0\r\nHost: a\r\n\r\n",
        b"GET / HTTP/0.9\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        assert_eq!(status(request), StatusCode::HTTP_VERSION_NOT_SUPPORTED);
    }
}

#[test]
fn anything_but_http_d_d_is_400() {
    for request in [
        &b"GET /\r\n\r\n"[..],
        b"GET / HTTX/1.1\r\nHost: a\r\n\r\n",
        b"GET / http/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.10\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\rHost: a\r\n\r\n",
    ] {
        assert_eq!(status(request), BAD, "{:?}", show(request));
    }
}
