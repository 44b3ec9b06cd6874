//! Request-target forms (RFC 9112 §3.2) and the host an absolute-form target names.

use http::header::HOST;
use http::{HeaderValue, Method, Request};

use super::charset::HOST as HOST_BYTES;
use super::HeadError;

/// The form of a request target that passed [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TargetForm<'b> {
    /// `/path?query`.
    Origin,
    /// `*`, for OPTIONS.
    Asterisk,
    /// `scheme://authority/path?query`; the authority (`host[:port]`) is the request's host
    /// (§3.2.2), in place of the Host field.
    Absolute { authority: &'b [u8] },
    /// `host:port`, for CONNECT.
    Authority,
}

/// Checks the target's form against the method: origin-form (`/path`), asterisk-form (`*`,
/// only for OPTIONS), absolute-form (`scheme://authority...`, any method but CONNECT) or
/// authority-form (`host:port`, only and always for CONNECT). Visible ASCII only. An
/// authority with userinfo (`user@host`) is refused (RFC 9110 §4.2.4), as is an empty one
/// (§4.2.1).
pub(super) fn check<'b>(method: &str, target: &'b str) -> Result<TargetForm<'b>, HeadError> {
    if !target.is_ascii() {
        return Err(HeadError::bad_request("invalid byte in request target"));
    }
    let bytes = target.as_bytes();
    if method == Method::CONNECT.as_str() {
        return if is_host_port(bytes) {
            Ok(TargetForm::Authority)
        } else {
            Err(HeadError::bad_request("CONNECT without a host:port target"))
        };
    }
    match bytes {
        [b'/', ..] => Ok(TargetForm::Origin),
        b"*" if method == Method::OPTIONS.as_str() => Ok(TargetForm::Asterisk),
        _ => match absolute_authority(bytes) {
            Some(authority) => Ok(TargetForm::Absolute { authority }),
            None if is_host_port(bytes) => Err(HeadError::bad_request(
                "authority-form target without CONNECT",
            )),
            None => Err(HeadError::bad_request("request target of no known form")),
        },
    }
}

/// The authority of `scheme "://" authority [ path-abempty ] [ "?" query ]`, if `bytes` is
/// one with a non-empty authority made of host bytes only.
fn absolute_authority(bytes: &[u8]) -> Option<&[u8]> {
    let scheme_end = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    if scheme_end == 0 || !bytes[0].is_ascii_alphabetic() {
        return None;
    }
    let rest = bytes[scheme_end..].strip_prefix(b"://")?;
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let valid = !authority.is_empty() && authority.iter().all(|&b| HOST_BYTES[usize::from(b)]);
    valid.then_some(authority)
}

/// `uri-host ":" port`, the authority-form: a non-empty host of host bytes, a port of digits.
fn is_host_port(bytes: &[u8]) -> bool {
    let Some(colon) = bytes.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&bytes[..colon], &bytes[colon + 1..]);
    !host.is_empty()
        && host.iter().all(|&b| HOST_BYTES[usize::from(b)])
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
}

/// Makes the Host field of a request with an absolute-form target the target's authority
/// (RFC 9112 §3.2.2: the server must ignore the Host field received and use the target's
/// host), so that a handler reading `Host` sees the host the request is for. Any other
/// request is left as it is. Allocates only for absolute-form targets.
pub fn use_target_host<T>(request: &mut Request<T>) {
    let uri = request.uri();
    if uri.scheme().is_none() {
        return; // origin-, asterisk- or authority-form: the Host field stands
    }
    let Some(authority) = uri.authority() else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
        request.headers_mut().insert(HOST, value);
    }
}
