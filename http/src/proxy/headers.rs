//! The header fields a proxy changes: hop-by-hop fields removed both ways (RFC 9110
//! §7.6.1), and `Forwarded` (RFC 7239), `X-Forwarded-For` and `X-Forwarded-Proto` added
//! to the request.

use std::cell::RefCell;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};

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
    // Most messages have none: one pass over the names, not a lookup per hop-by-hop name.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
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
    let ip = origin.peer.map(|peer| peer.ip().to_canonical());
    let host = origin.host.and_then(|h| h.to_str().ok());
    let first_proxy =
        !headers.contains_key(&X_FORWARDED_FOR) && !headers.contains_key(header::FORWARDED);
    let (xff, forwarded) = match first_proxy {
        true => forwarding_values(ip, host, origin.proto),
        false => {
            let before = (
                joined(headers, &X_FORWARDED_FOR),
                joined(headers, &header::FORWARDED),
            );
            build(before, ip, host, origin.proto)
        }
    };
    if let Some(xff) = xff {
        headers.insert(X_FORWARDED_FOR, xff);
    }
    if let Some(forwarded) = forwarded {
        headers.insert(header::FORWARDED, forwarded);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(origin.proto));
}

/// `X-Forwarded-For` and `Forwarded` values built from these inputs.
struct Built {
    ip: Option<IpAddr>,
    host: Option<Box<str>>,
    proto: &'static str,
    xff: Option<HeaderValue>,
    forwarded: Option<HeaderValue>,
}

thread_local! {
    /// The values last built on this core for a request without forwarding fields: the
    /// requests of one client to one host reuse them (a reference count each) instead of
    /// formatting and allocating two values per request. The host is a copy, so the cache
    /// holds no reference into a connection's receive buffer.
    static LAST_BUILT: RefCell<Option<Built>> = const { RefCell::new(None) };
}

/// The forwarding values of a request that has none yet, from this core's cache when the
/// inputs match the last ones.
fn forwarding_values(
    ip: Option<IpAddr>,
    host: Option<&str>,
    proto: &'static str,
) -> (Option<HeaderValue>, Option<HeaderValue>) {
    let cached = LAST_BUILT.try_with(|last| {
        let mut last = last.borrow_mut();
        if let Some(b) = last.as_ref() {
            if b.ip == ip && b.proto == proto && b.host.as_deref() == host {
                return (b.xff.clone(), b.forwarded.clone());
            }
        }
        let (xff, forwarded) = build((None, None), ip, host, proto);
        *last = Some(Built {
            ip,
            host: host.map(Box::from),
            proto,
            xff: xff.clone(),
            forwarded: forwarded.clone(),
        });
        (xff, forwarded)
    });
    cached.unwrap_or_else(|_| build((None, None), ip, host, proto))
}

/// `X-Forwarded-For` (`None` without a client address) and `Forwarded`, each appended
/// to the earlier proxies' values in `before`.
fn build(
    before: (Option<String>, Option<String>),
    ip: Option<IpAddr>,
    host: Option<&str>,
    proto: &str,
) -> (Option<HeaderValue>, Option<HeaderValue>) {
    let mut out = Vec::with_capacity(96);
    let xff = ip.and_then(|ip| {
        if let Some(before) = &before.0 {
            out.extend_from_slice(before.as_bytes());
            out.extend_from_slice(b", ");
        }
        write_ip(&mut out, ip);
        HeaderValue::from_bytes(&out).ok()
    });
    out.clear();
    if let Some(before) = &before.1 {
        out.extend_from_slice(before.as_bytes());
        out.extend_from_slice(b", ");
    }
    // RFC 7239 §6: an IPv6 address is bracketed and the value quoted.
    match ip {
        Some(ip @ IpAddr::V4(_)) => {
            out.extend_from_slice(b"for=");
            write_ip(&mut out, ip);
            out.push(b';');
        }
        Some(ip @ IpAddr::V6(_)) => {
            out.extend_from_slice(b"for=\"[");
            write_ip(&mut out, ip);
            out.extend_from_slice(b"]\";");
        }
        None => {}
    }
    if let Some(host) = host {
        let quote: &[u8] = if is_token(host) { b"" } else { b"\"" };
        out.extend_from_slice(b"host=");
        out.extend_from_slice(quote);
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(quote);
        out.push(b';');
    }
    out.extend_from_slice(b"proto=");
    out.extend_from_slice(proto.as_bytes());
    (xff, HeaderValue::from_bytes(&out).ok())
}

/// Writes `ip` as text: an IPv4 address digit by digit (the `Display` of `Ipv4Addr`
/// goes through the formatter's padding machinery, several times the work).
fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
        }
        IpAddr::V6(v6) => drop(write!(out, "{v6}")),
    }
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
    fn repeated_origins_reuse_the_values_and_others_do_not() {
        let host = HeaderValue::from_static("example.com");
        let add = |peer: &str| {
            let mut h = HeaderMap::new();
            let origin = Origin {
                peer: Some(peer.parse().unwrap()),
                proto: "http",
                host: Some(&host),
            };
            add_forwarding(&mut h, &origin);
            h
        };
        for _ in 0..2 {
            let h = add("10.200.7.0:1");
            assert_eq!(h["x-forwarded-for"], "10.200.7.0");
            assert_eq!(h["forwarded"], "for=10.200.7.0;host=example.com;proto=http");
        }
        let h = add("192.168.100.9:2");
        assert_eq!(h["x-forwarded-for"], "192.168.100.9");
        assert_eq!(
            h["forwarded"],
            "for=192.168.100.9;host=example.com;proto=http"
        );
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
