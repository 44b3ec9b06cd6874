//! The forwarding fields a proxy adds to a request: `X-Forwarded-For` and `Forwarded`
//! (RFC 7239) appended to the earlier proxies' values, `X-Forwarded-Proto` set. They are
//! returned as encoded head lines, which the client writes after the request's own
//! fields: three header-map insertions fewer per request, and the lines of a repeated
//! origin are shared, not rebuilt.

use std::cell::RefCell;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Where a request came from, as the forwarding fields tell the upstream.
pub(super) struct Origin<'a> {
    /// The client's address.
    pub(super) peer: Option<SocketAddr>,
    /// `https` or `http`.
    pub(super) proto: &'static str,
    /// The `Host` the client asked for.
    pub(super) host: Option<&'a HeaderValue>,
}

/// The forwarding fields for a request with `headers` from `origin`, as head lines
/// (`name: value\r\n` each). The fields they replace leave `headers`, and so does
/// `Expect` (the server answers `100 Continue` itself).
pub(super) fn forwarding_lines(headers: &mut HeaderMap, origin: &Origin<'_>) -> Rc<[u8]> {
    // One pass over the names (most requests carry none of these), not a lookup each.
    let (mut expect, mut earlier, mut proto) = (false, false, false);
    for name in headers.keys() {
        if name == header::EXPECT {
            expect = true;
        } else if name == X_FORWARDED_FOR || name == header::FORWARDED {
            earlier = true;
        } else if name == X_FORWARDED_PROTO {
            proto = true;
        }
    }
    if expect {
        headers.remove(header::EXPECT);
    }
    if proto {
        headers.remove(X_FORWARDED_PROTO);
    }
    let ip = origin.peer.map(|peer| peer.ip().to_canonical());
    let host = origin.host.and_then(|h| h.to_str().ok());
    if !earlier {
        return cached_lines(ip, host, origin.proto);
    }
    let before = (
        joined(headers, &X_FORWARDED_FOR),
        joined(headers, &header::FORWARDED),
    );
    if ip.is_some() || before.0.is_some() {
        headers.remove(X_FORWARDED_FOR);
    }
    headers.remove(header::FORWARDED);
    build(before, ip, host, origin.proto)
}

/// The lines built from these inputs.
struct Built {
    ip: Option<IpAddr>,
    host: Option<Box<str>>,
    proto: &'static str,
    lines: Rc<[u8]>,
}

thread_local! {
    /// The lines last built on this core for a request without forwarding fields: the
    /// requests of one client to one host share them instead of formatting them anew.
    /// The host is a copy, so the cache holds no reference into a receive buffer.
    static LAST_BUILT: RefCell<Option<Built>> = const { RefCell::new(None) };
}

/// The lines of a request that has no forwarding fields yet, from this core's cache when
/// the inputs match the last ones.
fn cached_lines(ip: Option<IpAddr>, host: Option<&str>, proto: &'static str) -> Rc<[u8]> {
    let cached = LAST_BUILT.try_with(|last| {
        let mut last = last.borrow_mut();
        if let Some(b) = last.as_ref() {
            if b.ip == ip && b.proto == proto && b.host.as_deref() == host {
                return Rc::clone(&b.lines);
            }
        }
        let lines = build((None, None), ip, host, proto);
        *last = Some(Built {
            ip,
            host: host.map(Box::from),
            proto,
            lines: Rc::clone(&lines),
        });
        lines
    });
    cached.unwrap_or_else(|_| build((None, None), ip, host, proto))
}

/// `X-Forwarded-For` (none without a client address or earlier value), `Forwarded` and
/// `X-Forwarded-Proto` lines, the first two appended to the earlier proxies' values in
/// `before`. Every piece is text from a valid field value or an address, so each line is
/// a valid field.
fn build(
    before: (Option<String>, Option<String>),
    ip: Option<IpAddr>,
    host: Option<&str>,
    proto: &str,
) -> Rc<[u8]> {
    let mut out = Vec::with_capacity(128);
    if ip.is_some() || before.0.is_some() {
        out.extend_from_slice(b"x-forwarded-for: ");
        if let Some(before) = &before.0 {
            out.extend_from_slice(before.as_bytes());
        }
        if let Some(ip) = ip {
            if before.0.is_some() {
                out.extend_from_slice(b", ");
            }
            write_ip(&mut out, ip);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"forwarded: ");
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
    out.extend_from_slice(b"\r\nx-forwarded-proto: ");
    out.extend_from_slice(proto.as_bytes());
    out.extend_from_slice(b"\r\n");
    Rc::from(out)
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
#[path = "forwarding_tests.rs"]
mod tests;
