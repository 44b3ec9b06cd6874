//! `parse_response_head`: the status line and header section of an upstream's response,
//! under the framing rules the server applies to requests (semantics.rs), so that a
//! response whose end two parties could place differently is refused, never guessed.
//!
//! On top of those rules: no body for a HEAD request's response or for 1xx, 204 and 304
//! (RFC 9112 §6.3; their Content-Length and Transfer-Encoding are still checked); a
//! response with neither field is delimited by the connection's close.

use std::mem::MaybeUninit;

use http::{StatusCode, Version};
use httparse::{Header, ParserConfig, Status};

use super::head::check_line_endings;
use super::semantics::{framing, list_elements, parse_content_length, Codings};
use super::{HeadError, RequestFraming};

/// How a response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body (HEAD request, 1xx, 204, 304).
    None,
    /// Exactly this many bytes (possibly zero).
    Length(u64),
    /// A chunked body; decode it with [`ChunkedDecoder`](super::ChunkedDecoder).
    Chunked,
    /// Everything up to the connection's close (neither Content-Length nor
    /// Transfer-Encoding): the connection cannot be reused.
    UntilClose,
}

/// A parsed, validated response head, borrowing from the input buffer (`'b`) and the
/// caller's field slots (`'h`).
#[derive(Debug)]
pub struct ResponseHead<'h, 'b> {
    /// The status code.
    pub status: StatusCode,
    /// `HTTP_10` or `HTTP_11`.
    pub version: Version,
    /// Bytes of the buffer the head used; the body starts here.
    pub head_len: usize,
    /// How the body is delimited.
    pub framing: ResponseFraming,
    /// Whether the upstream keeps the connection open after this response: HTTP/1.1
    /// without `Connection: close` (HTTP/1.0 with `keep-alive`), and a body that does not
    /// end with the connection.
    pub keep_alive: bool,
    /// The header fields in order, names as sent.
    pub headers: &'h [Header<'b>],
}

/// Parses and validates the response head at the start of `buf`. `head_request`: the
/// request was HEAD (the response has no body whatever its fields say). `slots` is
/// uninitialized storage for the fields (`[MaybeUninit::uninit(); MAX_HEADERS]`: nothing
/// is written to it before parsing, where an initialized array costs a write per slot).
///
/// `Ok(None)`: incomplete, call again with more bytes (an error once `buf` is over
/// `max_head`). Errors carry status 502: the response cannot be passed on.
pub fn parse_response_head<'h, 'b>(
    buf: &'b [u8],
    slots: &'h mut [MaybeUninit<Header<'b>>],
    max_head: usize,
    head_request: bool,
) -> Result<Option<ResponseHead<'h, 'b>>, HeadError> {
    let mut response = httparse::Response::new(&mut []);
    let parsed =
        ParserConfig::default().parse_response_with_uninit_headers(&mut response, buf, slots);
    let head_len = match parsed {
        Ok(Status::Complete(len)) => len,
        Ok(Status::Partial) if buf.len() > max_head => return Err(bad("response head too large")),
        Ok(Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(bad("too many header fields")),
        Err(_) => return Err(bad("malformed response head")),
    };
    if head_len > max_head {
        return Err(bad("response head too large"));
    }
    let (Some(minor), Some(code)) = (response.version, response.code) else {
        return Err(bad("incomplete status line"));
    };
    let status = StatusCode::from_u16(code).map_err(|_| bad("invalid status code"))?;
    let version = if minor == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let fields: &'h [Header<'b>] = response.headers;
    check_line_endings(buf, head_len, fields).map_err(gateway)?;
    let meaning = analyze(version, fields)?;
    let no_body = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = match meaning.framing {
        _ if no_body => ResponseFraming::None,
        RequestFraming::None => ResponseFraming::UntilClose,
        RequestFraming::Length(n) => ResponseFraming::Length(n),
        RequestFraming::Chunked => ResponseFraming::Chunked,
    };
    Ok(Some(ResponseHead {
        status,
        version,
        head_len,
        framing,
        keep_alive: meaning.keep_alive && framing != ResponseFraming::UntilClose,
        headers: fields,
    }))
}

/// What the fields say about framing and persistence.
struct Meaning {
    framing: RequestFraming,
    keep_alive: bool,
}

fn analyze(version: Version, fields: &[Header<'_>]) -> Result<Meaning, HeadError> {
    let mut content_length: Option<u64> = None;
    let mut codings = Codings::default();
    let (mut close, mut keep_alive_token) = (false, false);
    for field in fields {
        let name = field.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let length = parse_content_length(field.value).map_err(gateway)?;
            if content_length.is_some_and(|earlier| earlier != length) {
                return Err(bad("conflicting Content-Length values"));
            }
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            codings.add_field(field.value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in list_elements(field.value) {
                close |= option.eq_ignore_ascii_case(b"close");
                keep_alive_token |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    Ok(Meaning {
        framing: framing(version, content_length, &codings).map_err(gateway)?,
        keep_alive: !close && (version == Version::HTTP_11 || keep_alive_token),
    })
}

/// The request side's error, as the gateway error it is for a response.
fn gateway(e: HeadError) -> HeadError {
    bad(e.reason)
}

fn bad(reason: &'static str) -> HeadError {
    HeadError::new(StatusCode::BAD_GATEWAY, reason)
}
