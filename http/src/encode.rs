//! Response-head encoding: pure functions that append bytes to an output buffer.
//!
//! The server owns the framing and connection-management fields: it writes `Server` (the
//! embedder's choice, or none), `Date`, `Content-Length` or `Transfer-Encoding`, and `Connection` itself, and skips
//! those names (and `Keep-Alive`) in the handler's header map, so a handler can never
//! produce a response whose framing disagrees with what is sent. Everything else the
//! handler set is written as is; `HeaderValue` cannot hold CR or LF, so no header can
//! split the response. Handler header names are written in the lowercase form the `http`
//! crate stores them in (field names are case-insensitive).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;

use crate::date::DATE_LEN;

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body and no framing field: 1xx, 204 and 304 responses.
    NoBody,
    /// `Content-Length: n` (also on HEAD responses, whose body is not sent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ends when the connection closes (HTTP/1.0 clients, unknown
    /// length). Implies [`Persistence::Close`].
    UntilClose,
}

/// What the `Connection` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing (HTTP/1.1 is persistent by default).
    KeepAlive,
    /// `Connection: keep-alive`, echoed to HTTP/1.0 clients that asked for it.
    KeepAliveEcho,
    /// `Connection: close`: the server closes after this response.
    Close,
    /// `Connection: upgrade`: a `101`, after which the connection leaves HTTP.
    Upgrade,
}

impl Persistence {
    /// What `Connection` says for a response to a `version` request: `keep` says the
    /// connection stays open after it.
    pub(crate) fn of(keep: bool, version: http::Version) -> Persistence {
        match (keep, version) {
            (false, _) => Persistence::Close,
            (true, http::Version::HTTP_10) => Persistence::KeepAliveEcho,
            (true, _) => Persistence::KeepAlive,
        }
    }
}

/// The fields the server writes itself; handler values for these names are skipped.
fn is_server_managed(name: &HeaderName) -> bool {
    name == header::CONTENT_LENGTH
        || name == header::TRANSFER_ENCODING
        || name == header::CONNECTION
        || name == header::DATE
        || name == header::SERVER
        || name == "keep-alive"
}

/// Bodies up to this size are copied into the output buffer behind their head, so a
/// pipelined batch leaves in one send; larger ones are sent from their own storage.
pub(crate) const INLINE_BODY: usize = 64 * 1024;

/// Whether a response with `status` may have a body (RFC 9110 §6.4.1).
pub(crate) fn allows_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// Handler maps with at most this many fields are scanned for `Connection` rather than
/// looked up: comparing a few names costs less than hashing one.
pub(crate) const SCAN_FIELDS: usize = 8;

/// Whether a handler's fields ask for `Connection: close`.
pub(crate) fn asks_close(headers: &HeaderMap) -> bool {
    let says_close = |v: &HeaderValue| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
    };
    if headers.len() <= SCAN_FIELDS {
        headers
            .iter()
            .any(|(name, v)| name == header::CONNECTION && says_close(v))
    } else {
        headers.get_all(header::CONNECTION).iter().any(says_close)
    }
}

/// Appends a status line.
pub fn status_line(out: &mut Vec<u8>, status: StatusCode) {
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `Server: {value}` if there is a value, then `Date: {date}`.
fn server_and_date(out: &mut Vec<u8>, server: Option<&[u8]>, date: &[u8; DATE_LEN]) {
    if let Some(server) = server {
        out.extend_from_slice(b"Server: ");
        out.extend_from_slice(server);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Date: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n");
}

/// Appends a complete response head: status line, `Server` (if `server` is some),
/// `Date`, the handler's fields, framing, `Connection`, and the blank line.
pub fn response_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    server: Option<&[u8]>,
    headers: &HeaderMap,
    framing: ResponseFraming,
    persistence: Persistence,
    date: &[u8; DATE_LEN],
) {
    head_start(out, status, server, date);
    head_fields(out, headers, framing, persistence);
}

/// Appends the start of a response head: the status line, `Server` (if `server` is some)
/// and `Date`.
pub fn head_start(
    out: &mut Vec<u8>,
    status: StatusCode,
    server: Option<&[u8]>,
    date: &[u8; DATE_LEN],
) {
    status_line(out, status);
    server_and_date(out, server, date);
}

/// Appends the rest of a response head after [`head_start`]: the handler's fields,
/// framing, `Connection`, and the blank line.
pub fn head_fields(
    out: &mut Vec<u8>,
    headers: &HeaderMap,
    framing: ResponseFraming,
    persistence: Persistence,
) {
    for (name, value) in headers {
        if is_server_managed(name) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        ResponseFraming::NoBody | ResponseFraming::UntilClose => {}
        ResponseFraming::Length(n) => length_field(out, n),
        ResponseFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    let persistence = if framing == ResponseFraming::UntilClose {
        Persistence::Close
    } else {
        persistence
    };
    match persistence {
        Persistence::KeepAlive => out.extend_from_slice(b"\r\n"),
        Persistence::KeepAliveEcho => out.extend_from_slice(b"Connection: keep-alive\r\n\r\n"),
        Persistence::Close => out.extend_from_slice(b"Connection: close\r\n\r\n"),
        Persistence::Upgrade => out.extend_from_slice(b"Connection: upgrade\r\n\r\n"),
    }
}

/// Appends `Content-Length: {n}` and its line end. Lengths under 1,000 (most small
/// bodies) are one append of a fixed size: no call to a copy of computed length.
fn length_field(out: &mut Vec<u8>, n: u64) {
    const NAME: usize = b"Content-Length: ".len();
    // The line with `digits` digits of `n`, written in place of the zeros.
    #[inline(always)]
    fn short(out: &mut Vec<u8>, n: u64, digits: usize) {
        let mut line = *b"Content-Length: 000\r\n";
        let mut v = n;
        for at in (NAME..NAME + digits).rev() {
            line[at] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        line.copy_within(NAME + 3.., NAME + digits);
        out.extend_from_slice(&line[..NAME + digits + 2]);
    }
    match n {
        0..=9 => short(out, n, 1),
        10..=99 => short(out, n, 2),
        100..=999 => short(out, n, 3),
        _ => {
            out.extend_from_slice(b"Content-Length: ");
            decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Appends a complete error response (`text/plain` body `reason` and a newline) that
/// closes the connection.
pub fn error_response(
    out: &mut Vec<u8>,
    status: StatusCode,
    server: Option<&[u8]>,
    reason: &str,
    date: &[u8; DATE_LEN],
) {
    status_line(out, status);
    server_and_date(out, server, date);
    out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    decimal(out, reason.len() as u64 + 1);
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(reason.as_bytes());
    out.push(b'\n');
}

/// Appends the size line of one chunk of a chunked body (`{hex}\r\n`).
pub fn chunk_head(out: &mut Vec<u8>, len: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut v = len;
    loop {
        i -= 1;
        digits[i] = HEX[v & 0xf];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// The end of a chunked body: the last chunk and an empty trailer section.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends `v` in decimal.
pub fn decimal(out: &mut Vec<u8>, v: u64) {
    // Short lengths (most bodies) as fixed-size appends: no copy call of a computed length.
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    if v < 100 {
        out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
