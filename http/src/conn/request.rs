//! Turning a parsed head into an `http::Request` without copying or allocating: the URI
//! (unless the core's `target_cache` has it parsed already) and header values are `Bytes`
//! slices of the connection's receive buffer, standard header names are the `http`
//! crate's constants (the most common spellings matched directly, see `header_names`),
//! and the header map and extension map (with the connection info) come from the core's
//! pool. (A non-standard header *name* is the one thing that allocates: `http` stores
//! custom names as owned lowercase copies.)
//!
//! A request the handler answers with a [`FixedResponse`] is not built at all when nothing
//! in it needs the ordinary path (see [`take_request`]).

use std::cell::RefCell;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use http::{header, HeaderName, HeaderValue, Method, Request, Uri, Version};

use super::header_names::header_name;
use super::target_cache;
use crate::conn_info::ConnInfo;
use crate::parse::{
    parse_head, Expect, HeadError, HeadLimits, HeaderSlots, RequestFraming, MAX_HEADERS,
};
use crate::Limits;
use crate::{pool, Body, FixedResponse};

/// What the connection needs from a head besides the request itself.
pub(crate) struct Head {
    pub(crate) version: Version,
    pub(crate) is_head: bool,
    pub(crate) framing: RequestFraming,
    pub(crate) keep_alive: bool,
    pub(crate) expect: Expect,
    /// The head has an `Upgrade` field (checked here, while the names are at hand, so
    /// that requests without one skip the header map lookups of an upgrade offer).
    pub(crate) upgrade_field: bool,
}

thread_local! {
    /// Header names and value positions of the head being built (reused, so no allocation).
    static FIELDS: RefCell<Vec<(HeaderName, Range<usize>)>> =
        RefCell::new(Vec::with_capacity(MAX_HEADERS));
}

/// What answers a request.
pub(crate) enum Answer<'h> {
    /// The handler's `call`.
    Call,
    /// The handler's fixed response.
    Fixed(&'h FixedResponse),
    /// Asking the handler for a fixed response panicked: the request gets a 500.
    Panicked,
}

/// Longest header name the `http` crate takes (`HeaderName::from_bytes` refuses longer).
const MAX_NAME_LEN: usize = (1 << 16) - 1;

fn bad(reason: &'static str) -> HeadError {
    HeadError::bad_request(reason)
}

/// Position of `part` inside `base` (both from the same buffer).
fn range_in(base: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= base.len()).then_some(start..end)
}

/// Parses the head at the front of `inbuf`. When it is complete, splits it off the buffer
/// and returns it with what answers it: `fixed` says, given the method and path, whether
/// the handler has a fixed response for it.
///
/// The request is built in `slot`, not returned (a request is over 250 bytes, and each
/// move of it is a `memcpy` call). Its body is still empty (the caller sets it in place:
/// `Request::map` would move the whole request twice) and its extensions carry `info`.
/// It is not built, `slot` stays `None`, when `quick` allows it and the answer is a fixed
/// response to a request without body, `Expect` or `Upgrade` field: nothing then reads
/// it. `Ok(None)`: need more bytes.
pub(crate) fn take_request<'h>(
    inbuf: &mut BytesMut,
    limits: &Limits,
    info: &ConnInfo,
    slot: &mut Option<Request<Body>>,
    quick: bool,
    fixed: impl Fn(&Method, &str) -> Answer<'h>,
) -> Result<Option<(Head, Answer<'h>)>, HeadError> {
    FIELDS.with(|fields| {
        let mut fields = fields.borrow_mut();
        fields.clear();
        let result = take_with(inbuf, &limits.head(), info, &mut fields, slot, quick, fixed);
        fields.clear(); // drop custom names now
        result
    })
}

fn take_with<'h>(
    inbuf: &mut BytesMut,
    limits: &HeadLimits,
    info: &ConnInfo,
    fields: &mut Vec<(HeaderName, Range<usize>)>,
    slot: &mut Option<Request<Body>>,
    quick: bool,
    fixed: impl Fn(&Method, &str) -> Answer<'h>,
) -> Result<Option<(Head, Answer<'h>)>, HeadError> {
    let (head, answer, method, target, head_len) = {
        let buf: &[u8] = &inbuf[..];
        let mut slots = HeaderSlots::new();
        let Some(parsed) = parse_head(buf, &mut slots, limits)? else {
            return Ok(None);
        };
        let head = Head {
            version: parsed.version,
            is_head: parsed.method == Method::HEAD,
            framing: parsed.framing,
            keep_alive: parsed.keep_alive,
            expect: parsed.expect,
            upgrade_field: parsed.upgrade,
        };
        // Origin-form: the path is the target's start. (Other forms are asked once their
        // URI is parsed, below.)
        let answer = match parsed.target.as_bytes() {
            [b'/', ..] => {
                // (A byte scan: `split('?')` costs a pattern searcher per request.)
                let target = parsed.target;
                let path = match target.bytes().position(|b| b == b'?') {
                    Some(end) => &target[..end],
                    None => target,
                };
                Some(fixed(&parsed.method, path))
            }
            _ => None,
        };
        let quick = quick
            && matches!(answer, Some(Answer::Fixed(_)))
            && needs_no_request(&parsed, limits)
            && target_cache::is_valid(parsed.target.as_bytes());
        if quick {
            inbuf.advance(parsed.head_len);
            return Ok(answer.map(|answer| (head, answer)));
        }
        let target = range_in(buf, parsed.target.as_bytes()).ok_or(bad("request target"))?;
        for field in parsed.headers.iter() {
            let name =
                header_name(field.name.as_bytes()).map_err(|_| bad("invalid header field name"))?;
            let value = range_in(buf, field.value).unwrap_or(0..0);
            fields.push((name, value));
        }
        (head, answer, parsed.method, target, parsed.head_len)
    };
    let mut bytes: Bytes = inbuf.split_to(head_len).freeze();
    let (mut map, extensions) = pool::take_request_maps(info);
    // Each name taken out of the list, a standard name left in its place (a few stores):
    // a `drain` costs more in its own drop, and a clone of a custom name would allocate
    // (its bytes become shared). The caller clears the list.
    for (name, value) in fields.iter_mut() {
        let Ok(value) = HeaderValue::from_maybe_shared(bytes.slice(value.clone())) else {
            pool::put_map(map);
            return Err(bad("invalid header field value"));
        };
        map.append(std::mem::replace(name, header::HOST), value);
    }
    let uri = match target_cache::uri_for(&bytes[target.clone()]) {
        Some(uri) => uri,
        None => {
            // The URI takes the head's own handle, narrowed in place: one reference-count
            // increment and decrement (atomic operations) fewer per request than a slice.
            bytes.truncate(target.end);
            bytes.advance(target.start);
            let Ok(uri) = Uri::from_maybe_shared(bytes) else {
                pool::put_map(map);
                return Err(bad("invalid request target"));
            };
            uri
        }
    };
    let request = slot.insert(Request::new(Body::empty()));
    *request.method_mut() = method;
    // The defaults replaced here own no allocation (an empty map, the static "/"):
    // forgetting them skips their drop code, which is all they would cost.
    std::mem::forget(std::mem::replace(request.uri_mut(), uri));
    *request.version_mut() = head.version;
    std::mem::forget(std::mem::replace(request.headers_mut(), map));
    *request.extensions_mut() = extensions;
    // Absolute-form: the target's authority is the host (RFC 9112 §3.2.2).
    crate::parse::use_target_host(request);
    let answer = answer.unwrap_or_else(|| fixed(request.method(), request.uri().path()));
    Ok(Some((head, answer)))
}

/// Whether nothing but the parsed head is needed to answer this request with a fixed
/// response: no body to read or discard, no `100 Continue` to send, no upgrade to offer.
/// The checks building the request would make are the parser's already: httparse takes
/// the same field-value bytes as `HeaderValue` (HTAB, SP, VCHAR, obs-text) and the same
/// name bytes as `HeaderName` (tokens), whose one other limit is the name's length.
fn needs_no_request(parsed: &crate::parse::RequestHead<'_, '_>, limits: &HeadLimits) -> bool {
    matches!(
        parsed.framing,
        RequestFraming::None | RequestFraming::Length(0)
    ) && parsed.expect == Expect::None
        && !parsed.upgrade
        && (limits.max_head <= MAX_NAME_LEN
            || parsed.headers.iter().all(|f| f.name.len() <= MAX_NAME_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ConnectInfo;

    fn info() -> ConnInfo {
        let addr = "127.0.0.1:1".parse().unwrap();
        ConnInfo::new(ConnectInfo::new(addr, addr), None)
    }

    /// `take_request` with no fixed responses.
    fn take(buf: &mut BytesMut, slot: &mut Option<Request<Body>>) -> Option<Head> {
        take_request(buf, &Limits::default(), &info(), slot, true, |_, _| {
            Answer::Call
        })
        .unwrap()
        .map(|(head, _)| head)
    }

    #[test]
    fn builds_a_request_from_slices_of_the_buffer() {
        let mut buf = BytesMut::from(
            &b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Custom: v 1\r\nEmpty:\r\n\r\nNEXT"[..],
        );
        let mut slot = None;
        let head = take(&mut buf, &mut slot).unwrap();
        let req = slot.unwrap();
        assert_eq!(&buf[..], b"NEXT");
        assert!(head.keep_alive && !head.is_head);
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/a");
        assert_eq!(req.uri().query(), Some("b=c"));
        assert_eq!(req.version(), Version::HTTP_11);
        assert_eq!(req.headers()["host"], "x");
        assert_eq!(req.headers()["x-custom"], "v 1");
        assert_eq!(req.headers()["empty"], "");
        assert!(req.extensions().get::<ConnectInfo>().is_some());
        pool::put_request_parts(req.into_parts().0);
    }

    #[test]
    fn incomplete_and_absolute_form() {
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\n"[..]);
        let mut slot = None;
        assert!(take(&mut buf, &mut slot).is_none());
        assert!(slot.is_none());
        let mut buf = BytesMut::from(&b"GET http://h:1/p HTTP/1.1\r\nHost: h:1\r\n\r\n"[..]);
        take(&mut buf, &mut slot).unwrap();
        let req = slot.unwrap();
        assert_eq!(req.uri().host(), Some("h"));
        assert_eq!(req.uri().path(), "/p");
    }

    /// Whether `raw`'s request (a fixed route whatever its path, with `quick`) is built,
    /// the path the handler was asked about, and the bytes left after the head.
    fn built_for_fixed(raw: &[u8], quick: bool) -> (bool, String, Vec<u8>) {
        let fixed = FixedResponse::new(http::Response::new("x")).unwrap();
        let asked = RefCell::new(String::new());
        let mut buf = BytesMut::from(raw);
        let mut slot = None;
        let limits = Limits::default();
        let (_, answer) = take_request(&mut buf, &limits, &info(), &mut slot, quick, |_, path| {
            *asked.borrow_mut() = path.to_string();
            Answer::Fixed(&fixed)
        })
        .unwrap()
        .unwrap();
        assert!(matches!(answer, Answer::Fixed(_)));
        (slot.is_some(), asked.take(), buf.to_vec())
    }

    #[test]
    fn a_fixed_answer_to_a_plain_request_builds_no_request() {
        let plain = b"GET /f?q HTTP/1.1\r\nHost: x\r\nX-Any: 1\r\n\r\nNEXT";
        let next = b"NEXT".to_vec();
        assert_eq!(
            built_for_fixed(plain, true),
            (false, "/f".to_string(), next.clone())
        );
        // The access log (`quick` false) needs the request.
        assert!(built_for_fixed(plain, false).0);
        // A zero-length body is no body.
        let empty = b"GET /f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nNEXT";
        assert!(!built_for_fixed(empty, true).0);
        let needs_request: [&[u8]; 4] = [
            b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nNEXT",
            b"GET /f HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\nNEXT",
            b"GET /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\nNEXT",
            b"GET http://x/f HTTP/1.1\r\nHost: x\r\n\r\nNEXT",
        ];
        for raw in needs_request {
            let (built, path, rest) = built_for_fixed(raw, true);
            assert!(built, "{}", String::from_utf8_lossy(raw));
            assert_eq!((path, rest), ("/f".to_string(), next.clone()));
        }
    }
}
