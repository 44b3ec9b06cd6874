//! Properties of the client's response-head parser (`parse_response_head`), checked on
//! arbitrary bytes. Shared by the `response_head` fuzz target and
//! `http/tests/fuzz_regressions.rs`.
//!
//! Besides "never panics":
//! - every shorter prefix of a complete head is incomplete (never an error, never another
//!   head), so the answer does not depend on how the bytes arrived;
//! - the framing agrees with the fields, read here independently: `Length(n)` only with
//!   Content-Length fields that all say `n` and no Transfer-Encoding; `Chunked` only with
//!   Transfer-Encoding and no Content-Length; `UntilClose` only with neither, and never
//!   kept alive; `None` only for HEAD, 1xx, 204 and 304. A head with both fields is
//!   always refused, and every refusal is a 502;
//! - the same bytes as the answer to a HEAD request: the same verdict, no body;
//! - the head re-encoded from what was parsed (status line, fields as parsed) parses to
//!   the same status, version, fields, framing and persistence.

use coreline_http::__fuzz::parse::{parse_response_head, ResponseFraming, MAX_HEADERS};
use http::{StatusCode, Version};

/// Larger than any fuzz input: "too large" is not what these properties are about.
const MAX_HEAD: usize = 64 * 1024;

/// What parsing a buffer gave, reduced to comparable values.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Incomplete: more bytes needed.
    Partial,
    /// Refused with this status.
    Refused(u16),
    /// A complete head.
    Head(Parsed),
}

/// A parsed head's contents.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Bytes the head used.
    pub len: usize,
    /// The status code.
    pub status: u16,
    /// `HTTP/1.0` (`false`) or `HTTP/1.1` (`true`).
    pub http11: bool,
    /// How the body is delimited.
    pub framing: ResponseFraming,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// The fields, names and values as parsed.
    pub fields: Vec<(String, Vec<u8>)>,
}

/// Parses `buf` as the answer to a HEAD request (`head_request`) or to another one.
pub fn outcome(buf: &[u8], head_request: bool) -> Outcome {
    let mut slots = [std::mem::MaybeUninit::uninit(); MAX_HEADERS];
    match parse_response_head(buf, &mut slots, MAX_HEAD, head_request) {
        Ok(None) => Outcome::Partial,
        Err(e) => Outcome::Refused(e.status.as_u16()),
        Ok(Some(head)) => {
            assert!(head.head_len <= buf.len(), "head longer than its input");
            Outcome::Head(Parsed {
                len: head.head_len,
                status: head.status.as_u16(),
                http11: head.version == Version::HTTP_11,
                framing: head.framing,
                keep_alive: head.keep_alive,
                fields: head
                    .headers
                    .iter()
                    .map(|f| (f.name.to_owned(), f.value.to_vec()))
                    .collect(),
            })
        }
    }
}

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let whole = outcome(data, false);
    let as_head = outcome(data, true);
    match (&whole, &as_head) {
        (Outcome::Refused(status), _) => {
            assert_eq!(*status, 502, "a refused response is a bad gateway");
            assert_eq!(whole, as_head, "HEAD or not, the same refusal");
        }
        (Outcome::Partial, _) => assert_eq!(as_head, Outcome::Partial),
        (Outcome::Head(parsed), Outcome::Head(head)) => {
            framing_agrees(parsed, false);
            framing_agrees(head, true);
            assert_eq!(
                (parsed.len, parsed.status, parsed.http11, &parsed.fields),
                (head.len, head.status, head.http11, &head.fields),
                "HEAD changes only the framing"
            );
            assert_eq!(head.framing, ResponseFraming::None);
            prefixes_are_partial(data, parsed.len);
            reencoded_parses_the_same(parsed);
        }
        (Outcome::Head(_), other) => panic!("a head, but as HEAD's answer {other:?}"),
    }
}

/// The framing the fields say, read without the parser's code.
fn framing_agrees(parsed: &Parsed, head_request: bool) {
    let field = |name: &str| {
        parsed
            .fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect::<Vec<_>>()
    };
    let lengths = field("content-length");
    let codings = field("transfer-encoding");
    assert!(
        lengths.is_empty() || codings.is_empty(),
        "Content-Length with Transfer-Encoding accepted"
    );
    let status = StatusCode::from_u16(parsed.status).unwrap();
    let no_body = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    match parsed.framing {
        ResponseFraming::None => assert!(no_body, "no body for a {status}"),
        ResponseFraming::Length(n) => {
            assert!(!no_body && codings.is_empty());
            assert!(!lengths.is_empty(), "a length without Content-Length");
            for value in lengths {
                for element in value.split(|&b| b == b',') {
                    let digits = std::str::from_utf8(element)
                        .unwrap()
                        .trim_matches([' ', '\t']);
                    assert_eq!(
                        digits.parse::<u64>().ok(),
                        Some(n),
                        "Content-Length {digits}"
                    );
                }
            }
        }
        ResponseFraming::Chunked => {
            assert!(!no_body && lengths.is_empty() && parsed.http11);
            let last = codings
                .iter()
                .flat_map(|value| value.split(|&b| b == b','))
                .map(|c| c.trim_ascii())
                .rfind(|c| !c.is_empty());
            assert!(
                last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")),
                "the final coding is chunked"
            );
        }
        ResponseFraming::UntilClose => {
            assert!(!no_body && lengths.is_empty() && codings.is_empty());
            assert!(!parsed.keep_alive, "a body up to the close, kept alive");
        }
    }
}

/// Every shorter prefix of a head of `len` bytes is incomplete.
fn prefixes_are_partial(data: &[u8], len: usize) {
    let cuts: Vec<usize> = if len <= 64 {
        (0..len).collect()
    } else {
        let mut cuts: Vec<usize> = (0..len).step_by(len / 32 + 1).collect();
        cuts.extend([len - 1, len - 2, len / 2]);
        cuts
    };
    for cut in cuts {
        assert_eq!(
            outcome(&data[..cut], false),
            Outcome::Partial,
            "prefix of {cut}/{len} bytes of a valid head"
        );
    }
}

/// The head written out again from what was parsed means the same.
fn reencoded_parses_the_same(parsed: &Parsed) {
    let minor = if parsed.http11 { 1 } else { 0 };
    let mut head = format!("HTTP/1.{minor} {} R\r\n", parsed.status).into_bytes();
    for (name, value) in &parsed.fields {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    match outcome(&head, false) {
        Outcome::Head(again) => assert_eq!(
            (
                again.status,
                again.http11,
                again.framing,
                again.keep_alive,
                &again.fields
            ),
            (
                parsed.status,
                parsed.http11,
                parsed.framing,
                parsed.keep_alive,
                &parsed.fields
            ),
            "re-encoded head"
        ),
        other => panic!(
            "re-encoded head {:?}: {other:?}",
            String::from_utf8_lossy(&head)
        ),
    }
}
