//! Turning a parsed head into an `http::Request` without copying or allocating: the URI
//! (unless the core's `target_cache` has it parsed already) and header values are `Bytes`
//! slices of the connection's receive buffer, standard header names are the `http`
//! crate's constants (the most common spellings matched directly, see `header_names`),
//! and the header map and extension map (with the connection info) come from the core's
//! pool. (A non-standard header *name* is the one thing that allocates: `http` stores
//! custom names as owned lowercase copies.)

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
use crate::{pool, Body};

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

fn bad(reason: &'static str) -> HeadError {
    HeadError::bad_request(reason)
}

/// Position of `part` inside `base` (both from the same buffer).
fn range_in(base: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= base.len()).then_some(start..end)
}

/// Parses the head at the front of `inbuf`. When it is complete, splits it off the buffer,
/// builds its request in `slot` and returns the head. The request's body is still empty
/// (the caller sets it in place: `Request::map` would move the whole request twice) and
/// its extensions carry `info`. `Ok(None)`: need more bytes.
///
/// The request is built where the caller keeps it, not returned: a request is over 250
/// bytes, and each move of it is a `memcpy` call.
pub(crate) fn take_request(
    inbuf: &mut BytesMut,
    limits: &Limits,
    info: &ConnInfo,
    slot: &mut Option<Request<Body>>,
) -> Result<Option<Head>, HeadError> {
    FIELDS.with(|fields| {
        let mut fields = fields.borrow_mut();
        fields.clear();
        let result = take_with(inbuf, &limits.head(), info, &mut fields, slot);
        fields.clear(); // drop custom names now
        result
    })
}

fn take_with(
    inbuf: &mut BytesMut,
    limits: &HeadLimits,
    info: &ConnInfo,
    fields: &mut Vec<(HeaderName, Range<usize>)>,
    slot: &mut Option<Request<Body>>,
) -> Result<Option<Head>, HeadError> {
    let (head, method, target, head_len) = {
        let buf: &[u8] = &inbuf[..];
        let mut slots = HeaderSlots::new();
        let Some(parsed) = parse_head(buf, &mut slots, limits)? else {
            return Ok(None);
        };
        let target = range_in(buf, parsed.target.as_bytes()).ok_or(bad("request target"))?;
        let mut upgrade_field = false;
        for field in parsed.headers.iter() {
            let name =
                header_name(field.name.as_bytes()).map_err(|_| bad("invalid header field name"))?;
            upgrade_field |= name == header::UPGRADE;
            let value = range_in(buf, field.value).unwrap_or(0..0);
            fields.push((name, value));
        }
        let head = Head {
            version: parsed.version,
            is_head: parsed.method == Method::HEAD,
            framing: parsed.framing,
            keep_alive: parsed.keep_alive,
            expect: parsed.expect,
            upgrade_field,
        };
        (head, parsed.method, target, parsed.head_len)
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
    Ok(Some(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ConnectInfo;

    fn info() -> ConnInfo {
        let addr = "127.0.0.1:1".parse().unwrap();
        ConnInfo::new(ConnectInfo::new(addr, addr), None)
    }

    #[test]
    fn builds_a_request_from_slices_of_the_buffer() {
        let mut buf = BytesMut::from(
            &b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Custom: v 1\r\nEmpty:\r\n\r\nNEXT"[..],
        );
        let mut slot = None;
        let head = take_request(&mut buf, &Limits::default(), &info(), &mut slot)
            .unwrap()
            .unwrap();
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
        assert!(
            take_request(&mut buf, &Limits::default(), &info(), &mut slot)
                .unwrap()
                .is_none()
        );
        assert!(slot.is_none());
        let mut buf = BytesMut::from(&b"GET http://h:1/p HTTP/1.1\r\nHost: h:1\r\n\r\n"[..]);
        take_request(&mut buf, &Limits::default(), &info(), &mut slot)
            .unwrap()
            .unwrap();
        let req = slot.unwrap();
        assert_eq!(req.uri().host(), Some("h"));
        assert_eq!(req.uri().path(), "/p");
    }
}
