//! Per-core pools that make the steady-state request path allocation-free.
//!
//! These would otherwise be allocated for every request:
//!
//! - **Request parts.** `http::HeaderMap` allocates its tables on first insert, and every
//!   request carries its connection's info in its extensions (a
//!   [`ConnectInfo`](crate::ConnectInfo), over TLS a [`TlsInfo`](crate::TlsInfo) too), which
//!   costs `http::Extensions` three allocations (its box, its table, the boxed value). A
//!   handler that gives its request back with [`recycle`] returns both maps here as a
//!   pair: the next request reuses its header map and its extension map, whose entries the next request's info overwrites in place. A request a handler
//!   drops instead is freed as usual and the next one pays those allocations: the info
//!   stays in the extensions (where handlers and layers look for it) rather than behind an
//!   API of our own.
//! - **Header maps.** Response maps come back here after encoding; building responses
//!   with [`response`] reuses them.
//! - **Receive buffers.** A connection copies received bytes into a `BytesMut` taken from
//!   here only while it has unprocessed bytes, and gives it back when it goes idle: an idle
//!   keep-alive connection holds no buffer at all. Request heads, URIs and header values
//!   are `Bytes` slices of that buffer (no copy); once they are dropped the buffer is
//!   unique again and `BytesMut::reserve` reclaims its whole storage in place.
//! - **Output buffers.** Responses are encoded into a `Vec<u8>` from here, which goes back
//!   once sent and the connection is idle.
//!
//! The pools are thread-local: every core has its own, no locking. Each is bounded, and
//! oversized buffers are dropped rather than kept, so a burst cannot pin memory forever.

use std::cell::RefCell;

use bytes::BytesMut;
use http::response::Parts;
use http::{request, Extensions, HeaderMap, Request, Response, StatusCode, Version};

use crate::conn_info::ConnInfo;
use crate::Body;

/// Header maps kept per core.
const MAX_MAPS: usize = 256;
/// Buffers (of each kind) kept per core.
const MAX_BUFS: usize = 64;
/// Initial size of a receive buffer: several pipelined heads, or a typical head plus body.
pub(crate) const INBUF_SIZE: usize = 8 * 1024;
/// Receive buffers that grew past this (large heads or bodies) are not kept.
const MAX_POOLED_INBUF: usize = 64 * 1024;
/// Initial size of an output buffer.
pub(crate) const OUTBUF_SIZE: usize = 4 * 1024;
/// Output buffers that grew past this (file chunks, big bodies) are not kept.
const MAX_POOLED_OUTBUF: usize = 160 * 1024;
/// Maps that grew past this many entries are not kept.
const MAX_POOLED_MAP_CAPACITY: usize = 128;

#[derive(Default)]
struct Pools {
    maps: Vec<HeaderMap>,
    /// Header and extension maps of recycled requests: the extension maps hold a
    /// `ConnectInfo` only, or a `TlsInfo` beside it.
    plain_request_maps: Vec<(HeaderMap, Extensions)>,
    tls_request_maps: Vec<(HeaderMap, Extensions)>,
    inbufs: Vec<BytesMut>,
    outbufs: Vec<Vec<u8>>,
    /// The parts of encoded responses (their header maps cleared): building the next
    /// response from them costs no new, empty header map and extension map to drop.
    response_parts: Vec<Parts>,
}

thread_local! {
    static POOLS: RefCell<Pools> = RefCell::new(Pools::default());
}

/// A cleared header map from this core's pool (or a new, unallocated one).
pub(crate) fn take_map() -> HeaderMap {
    POOLS
        .try_with(|p| p.borrow_mut().maps.pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Clears `map` and keeps it for reuse on this core.
pub(crate) fn put_map(mut map: HeaderMap) {
    if map.capacity() == 0 || map.capacity() > MAX_POOLED_MAP_CAPACITY {
        return;
    }
    map.clear(); // drops the values (and their references into receive buffers) now
    let _ = POOLS.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.maps.len() < MAX_MAPS {
            p.maps.push(map);
        }
    });
}

/// The header map and extension map for a new request on a connection with `info`: from
/// this core's pool if a recycled request left them (the header map cleared but
/// allocated, the extension map holding the connection info of an earlier request,
/// overwritten here in place), else new.
///
/// The two maps are pooled as a pair, not as whole `http::request::Parts`: moving the
/// pair is a few register moves, moving `Parts` (twice its size) a `memcpy` call each
/// time, which costs more than the pool saves.
pub(crate) fn take_request_maps(info: &ConnInfo) -> (HeaderMap, Extensions) {
    let tls = info.tls().is_some();
    let pooled = POOLS.try_with(|p| {
        let mut p = p.borrow_mut();
        match tls {
            true => p.tls_request_maps.pop(),
            false => p.plain_request_maps.pop(),
        }
    });
    let (map, mut ext) = match pooled.ok().flatten() {
        Some(maps) => maps,
        None => (take_map(), Extensions::new()),
    };
    info.fill(&mut ext);
    (map, ext)
}

/// Keeps a request's header map and extension map for [`take_request_maps`] if the
/// extension map holds only the connection info the server put in (the old values stay
/// until the next request overwrites them: a few bytes); the rest of `parts` (the URI,
/// whose bytes are in the receive buffer) is dropped now. Of a request whose extensions
/// the handler added to, only the header map is kept.
pub(crate) fn put_request_parts(parts: request::Parts) {
    let (mut map, ext) = (parts.headers, parts.extensions);
    let capacity = map.capacity();
    let tls = ConnInfo::only_ours(&ext);
    let Some(tls) = tls.filter(|_| capacity > 0 && capacity <= MAX_POOLED_MAP_CAPACITY) else {
        return put_map(map);
    };
    map.clear(); // drops the values (and their references into receive buffers) now
    let _ = POOLS.try_with(|p| {
        let mut p = p.borrow_mut();
        let pool = match tls {
            true => &mut p.tls_request_maps,
            false => &mut p.plain_request_maps,
        };
        if pool.len() < MAX_MAPS {
            pool.push((map, ext));
        }
    });
}

/// An empty receive buffer with room to receive into.
pub(crate) fn take_inbuf() -> BytesMut {
    POOLS
        .try_with(|p| p.borrow_mut().inbufs.pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| BytesMut::with_capacity(INBUF_SIZE))
}

/// Keeps an emptied receive buffer for reuse (dropped if not empty or oversized).
pub(crate) fn put_inbuf(buf: BytesMut) {
    if !buf.is_empty() || buf.capacity() == 0 || buf.capacity() > MAX_POOLED_INBUF {
        return;
    }
    let _ = POOLS.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.inbufs.len() < MAX_BUFS {
            p.inbufs.push(buf);
        }
    });
}

/// An empty output buffer.
pub(crate) fn take_outbuf() -> Vec<u8> {
    POOLS
        .try_with(|p| p.borrow_mut().outbufs.pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(OUTBUF_SIZE))
}

/// Keeps an output buffer for reuse (cleared; dropped if oversized).
pub(crate) fn put_outbuf(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > MAX_POOLED_OUTBUF {
        return;
    }
    buf.clear();
    let _ = POOLS.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.outbufs.len() < MAX_BUFS {
            p.outbufs.push(buf);
        }
    });
}

/// Gives a request's header map and extension map back to this core's pool
/// and drops the rest of it.
///
/// Call it from a handler once the request is no longer needed (after reading what it
/// needs from the headers, URI and body). It is optional: a request simply dropped is
/// freed as usual; recycling is what keeps the hot path free of allocations. Dropping
/// the header values and the URI also releases their references into the connection's
/// receive buffer, which can then be reused in place.
pub fn recycle(request: Request<Body>) {
    let (parts, body) = request.into_parts();
    drop(body);
    put_request_parts(parts);
}

/// A response with `status`, `body`, and an empty header map from this core's pool.
///
/// The server puts every response's header map back into the pool once the response is
/// encoded, so building responses with this function (rather than `Response::new`, whose
/// map allocates on the first insert) allocates nothing in steady state.
pub fn response(status: StatusCode, body: Body) -> Response<Body> {
    let parts = POOLS
        .try_with(|p| p.borrow_mut().response_parts.pop())
        .ok()
        .flatten();
    let mut res = match parts {
        Some(parts) => Response::from_parts(parts, body),
        None => {
            let mut res = Response::new(body);
            *res.headers_mut() = take_map();
            res
        }
    };
    *res.status_mut() = status;
    res
}

/// Keeps the parts of an encoded response for [`response`] to reuse: its header map
/// cleared (as [`put_map`] does), its extensions emptied, status and version reset.
pub(crate) fn put_response_parts(mut parts: Parts) {
    let capacity = parts.headers.capacity();
    if capacity == 0 || capacity > MAX_POOLED_MAP_CAPACITY {
        return;
    }
    parts.headers.clear();
    parts.extensions.clear();
    parts.status = StatusCode::OK;
    parts.version = Version::default();
    let _ = POOLS.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.response_parts.len() < MAX_MAPS {
            p.response_parts.push(parts);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CONTENT_TYPE, HOST};
    use http::HeaderValue;

    #[test]
    fn maps_come_back_cleared_with_their_capacity() {
        let mut map = take_map();
        map.insert(HOST, HeaderValue::from_static("a"));
        let cap = map.capacity();
        put_map(map);
        let again = take_map();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), cap);
    }

    #[test]
    fn response_uses_a_pooled_map() {
        let mut r = response(StatusCode::OK, Body::empty());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let cap = r.headers().capacity();
        put_map(std::mem::take(r.headers_mut()));
        let r2 = response(StatusCode::NOT_FOUND, Body::empty());
        assert_eq!(r2.status(), StatusCode::NOT_FOUND);
        assert_eq!(r2.headers().capacity(), cap);
    }

    #[test]
    fn response_parts_come_back_as_new() {
        let mut r = response(StatusCode::NOT_FOUND, Body::empty());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        r.extensions_mut().insert(7u32);
        *r.version_mut() = http::Version::HTTP_10;
        put_response_parts(r.into_parts().0);
        let again = response(StatusCode::OK, Body::empty());
        assert!(again.headers().is_empty() && again.headers().capacity() > 0);
        assert!(again.extensions().is_empty());
        assert_eq!(again.version(), http::Version::HTTP_11);
        assert_eq!(again.status(), StatusCode::OK);
    }

    #[test]
    fn non_empty_or_oversized_buffers_are_not_pooled() {
        let mut b = take_inbuf();
        b.extend_from_slice(b"x");
        put_inbuf(b); // not empty: dropped
        let big = BytesMut::with_capacity(MAX_POOLED_INBUF + 1);
        put_inbuf(big);
        let got = take_inbuf();
        assert!(got.capacity() <= MAX_POOLED_INBUF);
        assert!(got.is_empty());
    }
}
