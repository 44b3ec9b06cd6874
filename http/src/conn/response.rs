//! Writing one response: head into the output buffer, then the body by kind.
//!
//! Small bodies are copied behind the head, so a batch of pipelined responses leaves in
//! one send when the batch is flushed. Large, file and streamed bodies flush as they go;
//! file and upstream socket bodies are spliced (`splice.rs`, `splice_socket.rs`).

use std::cell::RefCell;
use std::io;

use coreline_runtime::ops;
use http::{Response, StatusCode, Version};

use super::io::ConnIo;
use crate::body::{Body, Kind};
use crate::date;
use crate::encode::{self, Persistence, ResponseFraming, INLINE_BODY};
use crate::metrics::ResponseKind;
use crate::pool;

/// Flush a streamed body once this much is buffered.
const STREAM_FLUSH: usize = 32 * 1024;

/// The request facts that shape the response.
pub(crate) struct Shape {
    pub(crate) version: Version,
    pub(crate) is_head: bool,
    /// The server intends to keep the connection open after this response.
    pub(crate) keep_alive: bool,
}

/// Whether the connection may carry another request after the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    KeepAlive,
    Close,
    /// A `101` to upgrade offer `id` is queued: the connection leaves HTTP once it is sent.
    Upgrade(u64),
}

/// Encodes the head (and a small body behind it); returns what else is to be sent. The
/// body is taken out of `res`; the caller keeps the rest (pooled).
pub(crate) fn encode(
    io: &ConnIo,
    res: &mut Response<Body>,
    shape: Shape,
) -> (After, Option<(Body, ResponseFraming)>) {
    let offer = io.take_upgrade();
    if let (Some(id), StatusCode::SWITCHING_PROTOCOLS) = (offer, res.status()) {
        return (encode_upgrade(io, res, id), None);
    }
    if let Some(id) = offer {
        crate::upgrade::refuse(id);
    }
    if res.status().is_informational() {
        // A 1xx cannot be the final response: nothing would follow it. A 101 needs an
        // upgrade offer, which a TLS connection never gets.
        let status = if res.status() == StatusCode::SWITCHING_PROTOCOLS && io.is_tls() {
            StatusCode::NOT_IMPLEMENTED
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        log::error!(
            "coreline: handler returned {} as a final response (a 101 needs the request's upgrade offer); sent {}",
            res.status(),
            status.as_u16()
        );
        pool::put_map(std::mem::take(res.headers_mut()));
        *res = pool::response(status, Body::empty());
    }
    let mut keep = shape.keep_alive && !encode::asks_close(res.headers());
    let body = std::mem::take(res.body_mut());
    let status = res.status();
    io.access_status(status);
    if let Some(m) = io.registry.metrics.as_deref() {
        let kind = match body.kind {
            Kind::File { .. } => ResponseKind::File,
            _ => ResponseKind::Handler,
        };
        m.responded(status, kind);
    }
    let framing = if !encode::allows_body(status) {
        ResponseFraming::NoBody
    } else {
        match body.len() {
            Some(n) => ResponseFraming::Length(n),
            None if shape.version == Version::HTTP_11 => ResponseFraming::Chunked,
            None => ResponseFraming::UntilClose,
        }
    };
    if framing == ResponseFraming::UntilClose {
        keep = false;
    }
    let send_body = framing != ResponseFraming::NoBody && !shape.is_head;
    if send_body {
        if let Kind::Incoming(incoming) = &body.kind {
            if incoming.is_current(io.source_id()) {
                // The body is about to be read: the client must get its 100 Continue first.
                io.queue_continue_if_pending();
            }
        }
    }
    let persistence = Persistence::of(keep, shape.version);
    io.with_out(|out| {
        head_start(io, out, status);
        encode::head_fields(out, res.headers(), framing, persistence);
    });
    let after = if keep { After::KeepAlive } else { After::Close };
    if !send_body {
        return (after, None);
    }
    // Small bodies go right behind the head, so a pipelined batch leaves in one send.
    let rest = match body.kind {
        Kind::Empty => None,
        Kind::Bytes(b) if b.len() <= INLINE_BODY => {
            io.with_out(|out| out.extend_from_slice(&b));
            io.access_body_sent(b.len() as u64);
            None
        }
        Kind::Static(s) if s.len() <= INLINE_BODY => {
            io.with_out(|out| out.extend_from_slice(s));
            io.access_body_sent(s.len() as u64);
            None
        }
        kind => Some((Body { kind }, framing)),
    };
    (after, rest)
}

/// Appends the status line, `Server` and `Date` of a `status` response: for a `200 OK`
/// the core's encoded start (rebuilt once a second), else encoded now.
pub(super) fn head_start(io: &ConnIo, out: &mut Vec<u8>, status: StatusCode) {
    let server = io.registry.config.server();
    if status == StatusCode::OK {
        io.registry.ok_head_start.write(out, server);
    } else {
        encode::head_start(out, status, server, &date::current());
    }
}

/// Encodes a `101` head (the handler's fields and `Connection: upgrade`) for offer `id`.
fn encode_upgrade(io: &ConnIo, res: &Response<Body>, id: u64) -> After {
    io.access_status(res.status());
    if let Some(m) = io.registry.metrics.as_deref() {
        m.responded(res.status(), ResponseKind::Handler);
    }
    io.with_out(|out| {
        head_start(io, out, res.status());
        encode::head_fields(
            out,
            res.headers(),
            ResponseFraming::NoBody,
            Persistence::Upgrade,
        );
    });
    After::Upgrade(id)
}

/// Writes a body that was not copied behind its head: large, file or streamed.
pub(crate) async fn write_body(
    io: &ConnIo,
    body: Body,
    framing: ResponseFraming,
) -> io::Result<()> {
    match body.kind {
        Kind::Bytes(b) => {
            io.flush().await?;
            let n = b.len() as u64;
            // Sent from the `Bytes` itself (shared or not): never copied.
            io.send_all(&RefCell::new(b), ops::send).await?;
            io.access_body_sent(n);
            Ok(())
        }
        Kind::Static(s) => {
            io.flush().await?;
            io.send_all(&RefCell::new(s), ops::send).await?;
            io.access_body_sent(s.len() as u64);
            Ok(())
        }
        Kind::File { file, offset, len } => {
            super::splice::write_file(io, &file, offset, len).await?;
            io.access_body_sent(len);
            Ok(())
        }
        Kind::Socket(socket) => super::splice_socket::write_socket_body(io, socket, framing).await,
        kind => write_stream(io, Body { kind }, framing).await,
    }
}

/// Streams a body of unknown or checked length.
pub(super) async fn write_stream(
    io: &ConnIo,
    mut body: Body,
    framing: ResponseFraming,
) -> io::Result<()> {
    let mut sent = 0u64;
    while let Some(chunk) = body.chunk().await? {
        if chunk.is_empty() {
            continue;
        }
        sent += chunk.len() as u64;
        io.access_body_sent(chunk.len() as u64);
        match framing {
            ResponseFraming::Length(n) if sent > n => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "body longer than its length",
                ))
            }
            ResponseFraming::Chunked => io.with_out(|out| {
                encode::chunk_head(out, chunk.len());
                out.extend_from_slice(&chunk);
                out.extend_from_slice(b"\r\n");
            }),
            _ => io.with_out(|out| out.extend_from_slice(&chunk)),
        }
        // Streams may be slow (or live): send what each chunk brings, unless more is
        // already buffered in the output and a larger send would be better.
        if io.out.borrow().len() >= STREAM_FLUSH || !matches!(body.kind, Kind::Incoming(_)) {
            io.flush().await?;
        }
    }
    match framing {
        ResponseFraming::Length(n) if sent != n => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "body shorter than its length",
        )),
        ResponseFraming::Chunked => {
            io.with_out(|out| out.extend_from_slice(encode::LAST_CHUNK));
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use http::{header, HeaderValue};

    fn with_fields(fields: usize, connection: &'static str) -> Response<Body> {
        let mut res = Response::new(Body::empty());
        for i in 0..fields {
            let name = http::HeaderName::try_from(format!("x-field-{i}")).unwrap();
            res.headers_mut()
                .insert(name, HeaderValue::from_static("v"));
        }
        res.headers_mut()
            .append(header::CONNECTION, HeaderValue::from_static(connection));
        res
    }

    #[test]
    fn close_is_found_in_small_and_large_maps() {
        let asks_close = |res: &Response<Body>| encode::asks_close(res.headers());
        for fields in [0, encode::SCAN_FIELDS, encode::SCAN_FIELDS * 2] {
            assert!(asks_close(&with_fields(fields, "upgrade, Close")));
            assert!(!asks_close(&with_fields(fields, "keep-alive")));
        }
        assert!(!asks_close(&Response::new(Body::empty())));
    }
}
