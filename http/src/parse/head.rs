//! `parse_head`: the request line and header section of one request, validated and reduced to
//! what the connection needs (framing, persistence, expectation, host).

use std::mem::MaybeUninit;

use http::{Method, StatusCode, Version};
use httparse::{Header, Status};

use super::fields::HeaderFields;
use super::request_line::{self, LineScan, RequestLine};
use super::semantics::{self, Expect, RequestFraming};
use super::target::{self, TargetForm};
use super::HeadError;

/// The most header fields a request may carry; one more is a 431.
pub const MAX_HEADERS: usize = 100;

/// How many empty lines (CRLF) before a request line are skipped (RFC 9112 §2.2); more is a 400.
pub const MAX_LEADING_EMPTY_LINES: usize = 8;

/// Size limits for a request head. Exceeding one is answered without waiting for the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLimits {
    /// Most bytes in a head, leading empty lines and the final blank line included (431).
    pub max_head: usize,
    /// Most header fields (431); values above [`MAX_HEADERS`] act as [`MAX_HEADERS`].
    pub max_headers: usize,
    /// Most bytes in the request target (414).
    pub max_target: usize,
}

impl Default for HeadLimits {
    /// 16 KiB heads, 100 fields, 8 KiB targets.
    fn default() -> Self {
        Self {
            max_head: 16 * 1024,
            max_headers: MAX_HEADERS,
            max_target: 8 * 1024,
        }
    }
}

/// A parsed, validated request head, borrowing from the input buffer (`'b`) and from the
/// [`HeaderSlots`] it was parsed into (`'h`).
#[derive(Clone, Debug)]
pub struct RequestHead<'h, 'b> {
    /// The method; standard methods are allocation-free.
    pub method: Method,
    /// The request target as sent: origin-form, absolute-form, authority-form or `*`.
    pub target: &'b str,
    /// `HTTP_10` or `HTTP_11` (`HTTP/1.x` with x > 1 is reported as `HTTP_11`).
    pub version: Version,
    /// Bytes of the buffer this head used: skipped empty lines, the request line, the fields
    /// and the blank line. The body (or the next request) starts here.
    pub head_len: usize,
    /// How the body is delimited.
    pub framing: RequestFraming,
    /// Whether the client asked to keep the connection open: HTTP/1.1 unless `Connection:
    /// close`; HTTP/1.0 only with `Connection: keep-alive` (and no `close`).
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue`.
    pub expect: Expect,
    /// The request's host: the authority of an absolute-form target (RFC 9112 §3.2.2), else
    /// the Host field value (required exactly once for HTTP/1.1, at most once for 1.0, and
    /// checked even when the target's authority replaces it).
    pub host: Option<&'b [u8]>,
    /// Whether the head has an `Upgrade` field (RFC 9110 §7.8).
    pub upgrade: bool,
    /// All header fields in order, names as sent (compare case-insensitively).
    pub headers: HeaderFields<'h, 'b>,
}

/// Uninitialized storage for the header fields of one head: create one per parse (free, it is
/// never written until parsing) so that [`parse_head`] needs no allocation.
pub struct HeaderSlots<'b> {
    slots: [MaybeUninit<Header<'b>>; MAX_HEADERS],
}

impl HeaderSlots<'_> {
    /// Fresh storage for [`MAX_HEADERS`] fields; costs nothing at runtime.
    pub const fn new() -> Self {
        Self {
            slots: [MaybeUninit::uninit(); MAX_HEADERS],
        }
    }
}

impl Default for HeaderSlots<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses and validates the request head at the start of `buf`.
///
/// `Ok(None)`: the head is incomplete; call again with more bytes (the limits are checked on
/// the partial head, so a client cannot make us buffer more than `max_head`). `Err`: answer
/// with `error.status` and close the connection.
pub fn parse_head<'h, 'b>(
    buf: &'b [u8],
    slots: &'h mut HeaderSlots<'b>,
    limits: &HeadLimits,
) -> Result<Option<RequestHead<'h, 'b>>, HeadError> {
    let Some(start) = skip_empty_lines(buf)? else {
        return need_more(buf, limits);
    };
    let rest = &buf[start..];
    let max_headers = limits.max_headers.min(MAX_HEADERS);
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(rest, &mut slots.slots[..max_headers]) {
        Ok(Status::Complete(len)) => {
            let (Some(method), Some(target), Some(minor)) =
                (request.method, request.path, request.version)
            else {
                return Err(HeadError::bad_request("incomplete request line"));
            };
            let version = if minor == 0 {
                Version::HTTP_10
            } else {
                Version::HTTP_11
            };
            let line = RequestLine {
                method,
                target,
                version,
            };
            let fields: &'h [Header<'b>] = request.headers;
            let headers = HeaderFields::parsed(fields);
            finish(buf, start + len, line, fields, headers, limits).map(Some)
        }
        Ok(Status::Partial) => {
            if rest.len() > limits.max_target {
                // Only our scan notices an over-long target before its end arrives (414).
                request_line::scan(rest, limits.max_target)?;
            }
            need_more(buf, limits)
        }
        Err(httparse::Error::TooManyHeaders) => Err(too_many_fields()),
        // httparse's errors are too coarse for the status (and it refuses HTTP/1.2+): scan
        // the line ourselves, then parse the fields on their own.
        Err(_) => match request_line::scan(rest, limits.max_target)? {
            LineScan::Incomplete => need_more(buf, limits),
            LineScan::Complete { line, len } => parse_fields_after(buf, start + len, line, limits),
        },
    }
}

/// The slow path, for heads whose request line httparse refused: the fields go into local
/// storage, and the result iterates them from the (validated) raw bytes.
fn parse_fields_after<'h, 'b>(
    buf: &'b [u8],
    fields_start: usize,
    line: RequestLine<'b>,
    limits: &HeadLimits,
) -> Result<Option<RequestHead<'h, 'b>>, HeadError> {
    let block = &buf[fields_start..];
    let mut local: [Header<'b>; MAX_HEADERS] = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let max_headers = limits.max_headers.min(MAX_HEADERS);
    match httparse::parse_headers(block, &mut local[..max_headers]) {
        Ok(Status::Complete((len, fields))) => {
            let headers = HeaderFields::raw(&block[..len], fields.len());
            finish(buf, fields_start + len, line, fields, headers, limits).map(Some)
        }
        Ok(Status::Partial) => need_more(buf, limits),
        Err(httparse::Error::TooManyHeaders) => Err(too_many_fields()),
        Err(httparse::Error::HeaderName) => Err(HeadError::bad_request("invalid field name")),
        Err(httparse::Error::HeaderValue) => Err(HeadError::bad_request("invalid field value")),
        Err(_) => Err(HeadError::bad_request("malformed header section")),
    }
}

/// Checks that hold for any complete head, then works out what the fields mean.
fn finish<'h, 'b>(
    buf: &'b [u8],
    head_len: usize,
    line: RequestLine<'b>,
    fields: &[Header<'b>],
    headers: HeaderFields<'h, 'b>,
    limits: &HeadLimits,
) -> Result<RequestHead<'h, 'b>, HeadError> {
    if line.target.len() > limits.max_target {
        return Err(request_line::target_too_long());
    }
    if head_len > limits.max_head {
        return Err(head_too_large());
    }
    let form = target::check(line.method, line.target)?;
    check_line_endings(buf, head_len, fields)?;
    let method = Method::from_bytes(line.method.as_bytes())
        .map_err(|_| HeadError::bad_request("invalid method token"))?;
    let meaning = semantics::analyze(line.version, fields)?;
    Ok(RequestHead {
        method,
        target: line.target,
        version: line.version,
        head_len,
        framing: meaning.framing,
        keep_alive: meaning.keep_alive,
        expect: meaning.expect,
        host: match form {
            TargetForm::Absolute { authority } => Some(authority),
            _ => meaning.host,
        },
        upgrade: meaning.upgrade,
        headers,
    })
}

/// httparse also ends lines at a bare LF; we insist on CRLF so that no intermediary can see
/// a different set of lines. Every field line starts right after the previous line's end, so
/// checking the two bytes before each name (and the final blank line) covers every line.
pub(super) fn check_line_endings(
    buf: &[u8],
    head_len: usize,
    fields: &[Header<'_>],
) -> Result<(), HeadError> {
    let base = buf.as_ptr() as usize;
    let crlf_before = |end: usize| end >= 2 && buf.get(end - 2..end) == Some(&b"\r\n"[..]);
    let fields_ok = fields
        .iter()
        .all(|field| crlf_before(field.name.as_ptr() as usize - base));
    if fields_ok && head_len >= 4 && buf.get(head_len - 4..head_len) == Some(&b"\r\n\r\n"[..]) {
        Ok(())
    } else {
        Err(HeadError::bad_request("line not ended by CRLF"))
    }
}

/// Returns where the request line starts, or `None` if `buf` is only (part of) empty lines.
fn skip_empty_lines(buf: &[u8]) -> Result<Option<usize>, HeadError> {
    let mut at = 0;
    loop {
        match (buf.get(at), buf.get(at + 1)) {
            (None, _) | (Some(b'\r'), None) => return Ok(None),
            (Some(b'\r'), Some(b'\n')) if at < 2 * MAX_LEADING_EMPTY_LINES => at += 2,
            (Some(b'\r' | b'\n'), _) => {
                return Err(HeadError::bad_request(
                    "bare CR or LF, or too many empty lines, before the request line",
                ))
            }
            (Some(_), _) => return Ok(Some(at)),
        }
    }
}

/// The head is incomplete: fine unless it is already larger than allowed.
fn need_more<T>(buf: &[u8], limits: &HeadLimits) -> Result<Option<T>, HeadError> {
    if buf.len() > limits.max_head {
        Err(head_too_large())
    } else {
        Ok(None)
    }
}

fn head_too_large() -> HeadError {
    HeadError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request head too large",
    )
}

fn too_many_fields() -> HeadError {
    HeadError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "too many header fields",
    )
}
