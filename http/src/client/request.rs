//! The request as it goes out: the head (request line, Host, the caller's fields, the
//! framing we choose) and the body, whole in one send or streamed with Content-Length or
//! chunked framing.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{header, Method};

use super::conn::{Conn, COALESCE_MAX};
use super::upstream::Upstream;
use super::Error;
use crate::Body;

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    Length(u64),
    Chunked,
}

/// An encoded request head.
pub(super) struct Head {
    /// Shared, not `Bytes`: sent (and kept for a retry) with no atomic reference count,
    /// and no allocation on the first clone.
    pub(super) bytes: Rc<[u8]>,
    pub(super) framing: Framing,
    /// The caller asked for `Connection: close`: the connection is not reused.
    pub(super) close: bool,
    /// The caller asked for an upgrade (`Connection: upgrade` and `Upgrade`): a `101`
    /// hands the connection over.
    pub(super) upgrade: bool,
}

/// What a head is written with besides the request's parts.
pub(crate) struct Outgoing<'a> {
    /// The request target, its pieces one after the other (`/` if they are all empty).
    pub(crate) target: &'a [&'a str],
    /// Encoded `name: value\r\n` fields, written after those of the parts.
    pub(crate) lines: &'a [u8],
    /// The fields ask for an upgrade (`Connection: upgrade` and `Upgrade`).
    pub(crate) upgrade: bool,
    /// `Host` is the upstream's authority even if the parts have one (which is then not
    /// written): the proxy's default, without taking the field out of the map.
    pub(crate) upstream_host: bool,
}

/// Encodes the head of `parts` as `outgoing` says, for a body of `body_len` bytes
/// (`None`: unknown, sent chunked). Content-Length and Transfer-Encoding fields of the
/// caller are replaced by the framing of the body actually sent, so the two can never
/// disagree.
pub(super) fn encode_head(
    parts: &Parts,
    outgoing: &Outgoing<'_>,
    upstream: &Upstream,
    body_len: Option<u64>,
) -> Head {
    HEAD_SCRATCH.with_borrow_mut(|out| {
        out.clear();
        let (framing, close) = write_head(out, parts, outgoing, upstream, body_len);
        Head {
            bytes: Rc::from(&out[..]),
            framing,
            close,
            upgrade: outgoing.upgrade,
        }
    })
}

thread_local! {
    /// Where heads are written before their one allocation, an `Rc<[u8]>` of their size.
    static HEAD_SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

/// Writes the head into `out`; its framing, and whether the caller asked to close.
fn write_head(
    out: &mut Vec<u8>,
    parts: &Parts,
    outgoing: &Outgoing<'_>,
    upstream: &Upstream,
    body_len: Option<u64>,
) -> (Framing, bool) {
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    let before = out.len();
    for piece in outgoing.target {
        out.extend_from_slice(piece.as_bytes());
    }
    if out.len() == before {
        out.extend_from_slice(b"/");
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let upstream_host = outgoing.upstream_host;
    if upstream_host || !parts.headers.contains_key(header::HOST) {
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(upstream.authority().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut close = false;
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || (upstream_host && name == header::HOST)
        {
            continue;
        }
        if name == header::CONNECTION {
            close |= value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|o| o.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(outgoing.lines);
    let framing = match body_len {
        Some(0) if !expects_body(&parts.method) => Framing::Length(0),
        Some(n) => {
            out.extend_from_slice(b"content-length: ");
            crate::encode::decimal(out, n);
            out.extend_from_slice(b"\r\n");
            Framing::Length(n)
        }
        None => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            Framing::Chunked
        }
    };
    out.extend_from_slice(b"\r\n");
    (framing, close)
}

/// Methods whose empty body is still announced with `Content-Length: 0`.
fn expects_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// Sends the head and the body. A body held in memory leaves with the head in one send;
/// a streamed one chunk by chunk as the caller's stream yields it.
pub(super) async fn send(
    conn: &mut Conn,
    head: &Head,
    body: Body,
    timeout: Duration,
) -> Result<(), Error> {
    if let Some(whole) = body.in_memory() {
        if whole.is_empty() {
            return conn.send(std::slice::from_ref(&head.bytes), timeout).await;
        }
        if head.bytes.len() + whole.len() <= COALESCE_MAX {
            let mut one = Vec::with_capacity(head.bytes.len() + whole.len());
            one.extend_from_slice(&head.bytes);
            one.extend_from_slice(&whole);
            return conn.send(&[one], timeout).await;
        }
        conn.send(std::slice::from_ref(&head.bytes), timeout)
            .await?;
        return conn.send(&[whole], timeout).await;
    }
    // Boxed: the streaming loop's futures would triple the size of this future, which
    // every exchange holds, while most requests have their body in memory.
    Box::pin(send_streamed(conn, head, body, timeout)).await
}

/// Sends the head, then the body chunk by chunk as the caller's stream yields it.
async fn send_streamed(
    conn: &mut Conn,
    head: &Head,
    mut body: Body,
    timeout: Duration,
) -> Result<(), Error> {
    conn.send(std::slice::from_ref(&head.bytes), timeout)
        .await?;
    let mut sent: u64 = 0;
    while let Some(chunk) = body.chunk().await.map_err(Error::Io)? {
        if chunk.is_empty() {
            continue;
        }
        sent += chunk.len() as u64;
        match head.framing {
            Framing::Length(n) if sent > n => return Err(body_length_mismatch()),
            Framing::Length(_) => conn.send(&[chunk], timeout).await?,
            Framing::Chunked => {
                let size = Bytes::from(format!("{:x}\r\n", chunk.len()));
                let end = Bytes::from_static(b"\r\n");
                conn.send(&[size, chunk, end], timeout).await?;
            }
        }
    }
    match head.framing {
        Framing::Length(n) if sent != n => Err(body_length_mismatch()),
        Framing::Length(_) => Ok(()),
        Framing::Chunked => {
            conn.send(&[Bytes::from_static(b"0\r\n\r\n")], timeout)
                .await
        }
    }
}

fn body_length_mismatch() -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "request body stream yielded a different length than it announced",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(host: Option<&str>, upstream_host: bool) -> String {
        let mut request = http::Request::get("/ignored");
        if let Some(host) = host {
            request = request.header(header::HOST, host);
        }
        let (parts, ()) = request.header("x-a", "1").body(()).unwrap().into_parts();
        let upstream = Upstream::of(&"http://up.example:8080/".parse().unwrap()).unwrap();
        let outgoing = Outgoing {
            target: &["/p", "?q=1"],
            lines: b"x-forwarded-proto: http\r\n",
            upgrade: false,
            upstream_host,
        };
        let head = encode_head(&parts, &outgoing, &upstream, Some(0));
        String::from_utf8(head.bytes.to_vec()).unwrap()
    }

    #[test]
    fn the_upstreams_host_replaces_the_callers_when_asked() {
        assert_eq!(
            head(Some("front.example"), true),
            "GET /p?q=1 HTTP/1.1\r\nhost: up.example:8080\r\nx-a: 1\r\n\
             x-forwarded-proto: http\r\n\r\n"
        );
    }

    #[test]
    fn the_callers_host_is_kept_otherwise_and_the_upstreams_written_without_one() {
        assert_eq!(
            head(Some("front.example"), false),
            "GET /p?q=1 HTTP/1.1\r\nhost: front.example\r\nx-a: 1\r\n\
             x-forwarded-proto: http\r\n\r\n"
        );
        assert_eq!(
            head(None, false),
            "GET /p?q=1 HTTP/1.1\r\nhost: up.example:8080\r\nx-a: 1\r\n\
             x-forwarded-proto: http\r\n\r\n"
        );
    }
}
