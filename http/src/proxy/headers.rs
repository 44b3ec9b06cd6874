//! The header fields a proxy changes: hop-by-hop fields removed both ways (RFC 9110
//! §7.6.1), and `Forwarded` (RFC 7239), `X-Forwarded-For` and `X-Forwarded-Proto` added
//! to the request.

use std::net::SocketAddr;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue};

/// Fields that describe one connection, not the message: never forwarded.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Removes the hop-by-hop fields, including every field `Connection` names.
pub(super) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .filter_map(|name| HeaderName::from_bytes(name.trim_ascii()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// Asks the upstream for the upgrade to `protocol` the client asked for (the only
/// hop-by-hop fields forwarded, and only when the server can upgrade the client's side).
pub(super) fn ask_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::UPGRADE, protocol);
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
}

/// Where a request came from, as the forwarding fields tell the upstream.
pub(super) struct Origin<'a> {
    /// The client's address.
    pub(super) peer: Option<SocketAddr>,
    /// `https` or `http`.
    pub(super) proto: &'static str,
    /// The `Host` the client asked for.
    pub(super) host: Option<&'a HeaderValue>,
}

/// Appends the client to `X-Forwarded-For` and `Forwarded`, and sets
/// `X-Forwarded-Proto`. `Expect` goes too: the server answers `100 Continue` itself.
pub(super) fn add_forwarding(headers: &mut HeaderMap, origin: &Origin<'_>) {
    headers.remove(header::EXPECT);
    let mut forwarded = String::with_capacity(64);
    if let Some(peer) = origin.peer {
        let ip = peer.ip().to_canonical();
        let xff = match joined(headers, &X_FORWARDED_FOR) {
            Some(before) => format!("{before}, {ip}"),
            None => ip.to_string(),
        };
        insert(headers, X_FORWARDED_FOR, &xff);
        // RFC 7239 §6: an IPv6 address is bracketed and the value quoted.
        match ip {
            std::net::IpAddr::V4(v4) => forwarded.push_str(&format!("for={v4};")),
            std::net::IpAddr::V6(v6) => forwarded.push_str(&format!("for=\"[{v6}]\";")),
        }
    }
    if let Some(host) = origin.host.and_then(|h| h.to_str().ok()) {
        if is_token(host) {
            forwarded.push_str(&format!("host={host};"));
        } else {
            forwarded.push_str(&format!("host=\"{host}\";"));
        }
    }
    forwarded.push_str("proto=");
    forwarded.push_str(origin.proto);
    let forwarded = match joined(headers, &header::FORWARDED) {
        Some(before) => format!("{before}, {forwarded}"),
        None => forwarded,
    };
    insert(headers, header::FORWARDED, &forwarded);
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(origin.proto));
}

/// Every `name` field's value, joined as one list (`None`: no field, or not text).
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<_>>()?;
    (!values.is_empty()).then(|| values.join(", "))
}

/// Replaces every `name` field with `value` (values built from valid fields and
/// addresses, so always valid).
fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// RFC 7230 token characters only (a host with `:` or `[` must be quoted).
fn is_token(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in fields {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_fields_and_the_ones_connection_names_go() {
        let mut h = map(&[
            ("connection", "close, X-Secret"),
            ("connection", "x-other"),
            ("x-secret", "1"),
            ("x-other", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-t"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("proxy-authenticate", "Basic"),
            ("x-kept", "1"),
            ("authorization", "Bearer t"),
        ]);
        remove_hop_by_hop(&mut h);
        let left: Vec<_> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-kept", "authorization"]);
    }

    #[test]
    fn forwarding_fields_are_appended() {
        let host = HeaderValue::from_static("example.com:8080");
        let mut h = map(&[
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
        add_forwarding(&mut h, &origin);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 192.0.2.7");
        assert_eq!(
            h["forwarded"],
            "for=10.0.0.1, for=192.0.2.7;host=\"example.com:8080\";proto=https"
        );
        assert_eq!(h["x-forwarded-proto"], "https");
        assert!(!h.contains_key("expect"));
    }

    #[test]
    fn ipv6_clients_are_bracketed_and_quoted() {
        let mut h = HeaderMap::new();
        let origin = Origin {
            peer: Some("[2001:db8::1]:5000".parse().unwrap()),
            proto: "http",
            host: None,
        };
        add_forwarding(&mut h, &origin);
        assert_eq!(h["forwarded"], "for=\"[2001:db8::1]\";proto=http");
        assert_eq!(h["x-forwarded-for"], "2001:db8::1");
    }
}
