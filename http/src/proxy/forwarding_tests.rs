//! Tests of `forwarding`.

use super::*;
use crate::proxy::headers::tests::map;

/// `headers` with the fields of `lines` added, as the upstream receives them.
fn with_lines(mut headers: HeaderMap, lines: &[u8]) -> HeaderMap {
    let text = std::str::from_utf8(lines).unwrap();
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
    for line in text.split_terminator("\r\n") {
        let (name, value) = line.split_once(": ").unwrap();
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

fn forwarded(mut headers: HeaderMap, origin: &Origin<'_>) -> HeaderMap {
    let lines = forwarding_lines(&mut headers, origin);
    with_lines(headers, &lines)
}

#[test]
fn forwarding_fields_are_appended() {
    let host = HeaderValue::from_static("example.com:8080");
    let h = map(&[
        ("x-forwarded-for", "10.0.0.1"),
        ("forwarded", "for=10.0.0.1"),
        ("x-forwarded-proto", "gopher"),
        ("expect", "100-continue"),
    ]);
    let origin = Origin {
        peer: Some("[::ffff:192.0.2.7]:5000".parse().unwrap()),
        proto: "https",
        host: Some(&host),
    };
    let h = forwarded(h, &origin);
    assert_eq!(h["x-forwarded-for"], "10.0.0.1, 192.0.2.7");
    assert_eq!(
        h["forwarded"],
        "for=10.0.0.1, for=192.0.2.7;host=\"example.com:8080\";proto=https"
    );
    assert_eq!(h["x-forwarded-proto"], "https");
    for name in ["x-forwarded-for", "forwarded", "x-forwarded-proto"] {
        assert_eq!(h.get_all(name).iter().count(), 1, "{name}");
    }
    assert!(!h.contains_key("expect"));
}

#[test]
fn without_a_client_address_an_earlier_list_is_kept() {
    let h = map(&[("x-forwarded-for", "10.0.0.1")]);
    let origin = Origin {
        peer: None,
        proto: "http",
        host: None,
    };
    let h = forwarded(h, &origin);
    assert_eq!(h["x-forwarded-for"], "10.0.0.1");
    assert_eq!(h["forwarded"], "proto=http");
    let h = forwarded(HeaderMap::new(), &origin);
    assert!(!h.contains_key("x-forwarded-for"));
}

#[test]
fn repeated_origins_reuse_the_lines_and_others_do_not() {
    let host = HeaderValue::from_static("example.com");
    let add = |peer: &str| {
        let mut h = HeaderMap::new();
        let origin = Origin {
            peer: Some(peer.parse().unwrap()),
            proto: "http",
            host: Some(&host),
        };
        let lines = forwarding_lines(&mut h, &origin);
        (with_lines(h, &lines), lines)
    };
    let (h, first) = add("10.200.7.0:1");
    let (again, second) = add("10.200.7.0:1");
    assert!(Rc::ptr_eq(&first, &second), "shared, not rebuilt");
    for h in [h, again] {
        assert_eq!(h["x-forwarded-for"], "10.200.7.0");
        assert_eq!(h["forwarded"], "for=10.200.7.0;host=example.com;proto=http");
        assert_eq!(h["x-forwarded-proto"], "http");
    }
    let (h, _) = add("192.168.100.9:2");
    assert_eq!(h["x-forwarded-for"], "192.168.100.9");
    assert_eq!(
        h["forwarded"],
        "for=192.168.100.9;host=example.com;proto=http"
    );
}

#[test]
fn ipv6_clients_are_bracketed_and_quoted() {
    let origin = Origin {
        peer: Some("[2001:db8::1]:5000".parse().unwrap()),
        proto: "http",
        host: None,
    };
    let h = forwarded(HeaderMap::new(), &origin);
    assert_eq!(h["forwarded"], "for=\"[2001:db8::1]\";proto=http");
    assert_eq!(h["x-forwarded-for"], "2001:db8::1");
}
