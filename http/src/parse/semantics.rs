//! What the header fields mean for the connection: body framing (RFC 9112 §6), persistence
//! (§9.3), expectations (RFC 9110 §10.1.1) and Host (§7.2). One pass over the fields.

use http::{StatusCode, Version};
use httparse::Header;

use super::charset::HOST;
use super::HeadError;

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFraming {
    /// No body: neither Content-Length nor Transfer-Encoding was sent.
    None,
    /// A body of exactly this many bytes (possibly zero).
    Length(u64),
    /// A chunked body; decode it with [`ChunkedDecoder`](super::ChunkedDecoder).
    Chunked,
}

/// What the client expects before it sends the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: the body (if any) is on its way.
    None,
    /// `Expect: 100-continue` on an HTTP/1.1 request: send `100 Continue` before reading the
    /// body. (RFC 9110 §10.1.1: ignored on HTTP/1.0 requests, which then report `None`.)
    Continue,
}

/// The connection-relevant meaning of a head's fields.
pub(super) struct Semantics<'b> {
    pub(super) framing: RequestFraming,
    pub(super) keep_alive: bool,
    pub(super) expect: Expect,
    pub(super) host: Option<&'b [u8]>,
    /// The head has an `Upgrade` field.
    pub(super) upgrade: bool,
}

/// What the Transfer-Encoding fields (all of them, in order) said.
#[derive(Default)]
pub(super) struct Codings {
    present: bool,
    chunked_count: u32,
    last_is_chunked: bool,
    other: bool,
}

impl Codings {
    /// Adds the codings of one Transfer-Encoding field value.
    pub(super) fn add_field(&mut self, value: &[u8]) {
        self.present = true;
        for coding in list_elements(value) {
            let chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.chunked_count += u32::from(chunked);
            self.other |= !chunked;
            self.last_is_chunked = chunked;
        }
    }
}

/// Interprets the fields of a `version` request; names are matched case-insensitively.
pub(super) fn analyze<'b>(
    version: Version,
    fields: &[Header<'b>],
) -> Result<Semantics<'b>, HeadError> {
    let mut content_length: Option<u64> = None;
    let mut codings = Codings::default();
    let mut host: Option<&'b [u8]> = None;
    let (mut close, mut keep_alive_token) = (false, false);
    let mut expect_continue = false;
    let mut upgrade = false;
    for field in fields {
        let name = field.name.as_bytes();
        let value = field.value;
        // Dispatch on length first: one compare rules out almost every other field.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                if host.replace(value).is_some() {
                    return Err(HeadError::bad_request("more than one Host field"));
                }
                check_host(value)?;
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                // Every listed expectation must be 100-continue, and an empty list is no
                // expectation we know either.
                let mut expectations = list_elements(value).peekable();
                if expectations.peek().is_none() {
                    return Err(expectation_failed());
                }
                if !expectations.all(|e| e.eq_ignore_ascii_case(b"100-continue")) {
                    return Err(expectation_failed());
                }
                expect_continue = true;
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => upgrade = true,
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for option in list_elements(value) {
                    close |= option.eq_ignore_ascii_case(b"close");
                    keep_alive_token |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let length = parse_content_length(value)?;
                if content_length.is_some_and(|earlier| earlier != length) {
                    return Err(HeadError::bad_request("conflicting Content-Length values"));
                }
                content_length = Some(length);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => codings.add_field(value),
            _ => {}
        }
    }
    if version == Version::HTTP_11 && host.is_none() {
        return Err(HeadError::bad_request("HTTP/1.1 request without Host"));
    }
    Ok(Semantics {
        framing: framing(version, content_length, &codings)?,
        keep_alive: !close && (version == Version::HTTP_11 || keep_alive_token),
        // RFC 9110 §10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request.
        expect: if expect_continue && version == Version::HTTP_11 {
            Expect::Continue
        } else {
            Expect::None
        },
        host,
        upgrade,
    })
}

/// Decides the body framing; every ambiguous combination is refused (request smuggling).
/// The response parser applies the same rules to an upstream's responses.
pub(super) fn framing(
    version: Version,
    length: Option<u64>,
    codings: &Codings,
) -> Result<RequestFraming, HeadError> {
    if !codings.present {
        return Ok(length.map_or(RequestFraming::None, RequestFraming::Length));
    }
    let reason = if length.is_some() {
        "both Content-Length and Transfer-Encoding"
    } else if version == Version::HTTP_10 {
        "Transfer-Encoding in an HTTP/1.0 request"
    } else if !codings.last_is_chunked {
        "final transfer coding is not chunked"
    } else if codings.chunked_count > 1 {
        "chunked applied more than once"
    } else if codings.other {
        return Err(HeadError::new(
            StatusCode::NOT_IMPLEMENTED,
            "unsupported transfer coding",
        ));
    } else {
        return Ok(RequestFraming::Chunked);
    };
    Err(HeadError::bad_request(reason))
}

/// `1*DIGIT`, or a comma list of identical ones (RFC 9110 §8.6 allows accepting `5, 5`).
pub(super) fn parse_content_length(value: &[u8]) -> Result<u64, HeadError> {
    let invalid = || HeadError::bad_request("invalid Content-Length");
    let mut result = None;
    for element in value.split(|&b| b == b',') {
        let digits = trim_ows(element);
        if digits.is_empty() {
            return Err(invalid());
        }
        let mut length: u64 = 0;
        for &b in digits {
            if !b.is_ascii_digit() {
                return Err(invalid());
            }
            length = length
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or_else(invalid)?;
        }
        if result.is_some_and(|earlier| earlier != length) {
            return Err(HeadError::bad_request("conflicting Content-Length values"));
        }
        result = Some(length);
    }
    result.ok_or_else(invalid)
}

/// `uri-host [ ":" port ]`: no whitespace, no `/`, `?`, `#`, `@`, no non-ASCII.
fn check_host(value: &[u8]) -> Result<(), HeadError> {
    // Every byte looked up without an early exit: valid hosts (nearly all) pay one table
    // load and one `and` per byte, no branch.
    let valid = value
        .iter()
        .fold(true, |valid, &b| valid & HOST[usize::from(b)]);
    if valid {
        Ok(())
    } else {
        Err(HeadError::bad_request("invalid Host"))
    }
}

/// The non-empty elements of a comma-separated list, whitespace trimmed (RFC 9110 §5.6.1).
pub(super) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

fn expectation_failed() -> HeadError {
    HeadError::new(StatusCode::EXPECTATION_FAILED, "unsupported expectation")
}
