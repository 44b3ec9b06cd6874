//! [`FixedResponse`]: a response decided before any request arrives, encoded once.
//!
//! A handler that answers some method and path with the same bytes every time (a health
//! check, `/plaintext`, a canned `404` page) returns one from
//! [`Handler::fixed_response`](crate::Handler::fixed_response). The connection then
//! answers a plain request for it (no body, no `Upgrade`, access log off) straight from
//! the parsed head: no `http::Request` is built and no `http::Response` encoded, only the
//! status line, `Server` and `Date` (kept encoded per core) and these bytes are appended
//! to the output. Every other request for it (with a body, an upgrade offer, or while the
//! access log is on) is built as usual and answered with [`FixedResponse::to_response`]
//! through the ordinary path, so both ways send the same bytes.

use std::error::Error;
use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};

use crate::encode::{self, Persistence, ResponseFraming};
use crate::{pool, Body};

/// The largest body a [`FixedResponse`] may have (64 KiB): it is copied behind the head
/// into the output buffer, as the server copies every body up to this size.
pub const FIXED_BODY_MAX: usize = encode::INLINE_BODY;

/// A response encoded once, for [`Handler::fixed_response`](crate::Handler::fixed_response).
///
/// The server still writes `Server`, `Date`, `Content-Length` and `Connection` itself (as
/// for any response): values for those names in the given map are ignored.
///
/// ```no_run
/// use std::future::{ready, Ready};
///
/// use coreline_http::{Body, FixedResponse, Handler, Server};
/// use http::{Method, Request, Response, StatusCode};
///
/// struct App {
///     health: FixedResponse,
/// }
///
/// impl Handler for App {
///     type Future = Ready<Response<Body>>;
///
///     fn fixed_response(&self, method: &Method, path: &str) -> Option<&FixedResponse> {
///         (method == Method::GET && path == "/healthz").then_some(&self.health)
///     }
///
///     fn call(&self, _request: Request<Body>) -> Self::Future {
///         let mut res = Response::new(Body::from_static(b"not found\n"));
///         *res.status_mut() = StatusCode::NOT_FOUND;
///         ready(res)
///     }
/// }
///
/// Server::builder()
///     .listen("127.0.0.1:8080".parse().unwrap())
///     .build(|| App {
///         health: FixedResponse::new(Response::new("ok\n")).unwrap(),
///     })?
///     .run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FixedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// The head after `Date` (the fields, framing and blank line), one per way the
    /// connection continues: keep-alive, keep-alive echoed to HTTP/1.0, close.
    tails: [Box<[u8]>; 3],
    /// The fields say `Connection: close`.
    closes: bool,
}

/// Why [`FixedResponse::new`] refused a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedResponseError(&'static str);

impl fmt::Display for FixedResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Error for FixedResponseError {}

impl FixedResponse {
    /// Encodes `response`. Refused: a `1xx` status (not a final response) and a body over
    /// [`FIXED_BODY_MAX`] bytes. A `204` or `304` is sent without its body.
    pub fn new(response: Response<impl Into<Bytes>>) -> Result<Self, FixedResponseError> {
        let (parts, body) = response.into_parts();
        let body: Bytes = body.into();
        if parts.status.is_informational() {
            return Err(FixedResponseError(
                "a fixed response needs a final status, not 1xx",
            ));
        }
        if body.len() > FIXED_BODY_MAX {
            return Err(FixedResponseError(
                "a fixed response's body is at most 64 KiB",
            ));
        }
        let framing = if encode::allows_body(parts.status) {
            ResponseFraming::Length(body.len() as u64)
        } else {
            ResponseFraming::NoBody
        };
        let tail = |persistence| {
            let mut out = Vec::new();
            encode::head_fields(&mut out, &parts.headers, framing, persistence);
            out.into_boxed_slice()
        };
        Ok(FixedResponse {
            status: parts.status,
            tails: [
                tail(Persistence::KeepAlive),
                tail(Persistence::KeepAliveEcho),
                tail(Persistence::Close),
            ],
            closes: encode::asks_close(&parts.headers),
            headers: parts.headers,
            body,
        })
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The header fields as given.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as given (a `204` or `304` is sent without it).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The same response as an `http::Response`, for the ordinary path: its header map
    /// comes from the core's pool (see [`response`](crate::response)) and its body shares
    /// this one's bytes, so nothing is allocated in steady state.
    pub fn to_response(&self) -> Response<Body> {
        let mut res = pool::response(self.status, Body::from(self.body.clone()));
        for (name, value) in &self.headers {
            res.headers_mut().append(name.clone(), value.clone());
        }
        res
    }

    /// Whether the fields ask to close the connection after the response.
    pub(crate) fn closes(&self) -> bool {
        self.closes
    }

    /// Appends the head's part after `Date`, for `persistence`, and the body unless
    /// `is_head` (or the status has none).
    pub(crate) fn write_rest(&self, out: &mut Vec<u8>, persistence: Persistence, is_head: bool) {
        let tail = match persistence {
            Persistence::KeepAlive => &self.tails[0],
            Persistence::KeepAliveEcho => &self.tails[1],
            Persistence::Close | Persistence::Upgrade => &self.tails[2],
        };
        out.extend_from_slice(tail);
        if !is_head && encode::allows_body(self.status) {
            out.extend_from_slice(&self.body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use http::header::{CONNECTION, CONTENT_TYPE};

    fn hello() -> Response<&'static [u8]> {
        Response::builder()
            .header(CONTENT_TYPE, "text/plain")
            .body(&b"Hello"[..])
            .unwrap()
    }

    #[test]
    fn tails_are_the_encoders_bytes() {
        let fixed = FixedResponse::new(hello()).unwrap();
        let mut out = Vec::new();
        fixed.write_rest(&mut out, Persistence::KeepAlive, false);
        assert_eq!(
            out,
            b"content-type: text/plain\r\nContent-Length: 5\r\n\r\nHello"
        );
        out.clear();
        fixed.write_rest(&mut out, Persistence::Close, true);
        assert_eq!(
            out,
            b"content-type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
        );
        out.clear();
        fixed.write_rest(&mut out, Persistence::KeepAliveEcho, false);
        assert!(out.ends_with(b"Connection: keep-alive\r\n\r\nHello"));
        assert!(!fixed.closes());
    }

    #[test]
    fn no_body_statuses_and_refusals() {
        let empty = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(CONNECTION, "close")
            .body(&b"ignored"[..])
            .unwrap();
        let fixed = FixedResponse::new(empty).unwrap();
        let mut out = Vec::new();
        fixed.write_rest(&mut out, Persistence::KeepAlive, false);
        assert_eq!(out, b"\r\n");
        assert!(fixed.closes());
        let early = Response::builder()
            .status(StatusCode::CONTINUE)
            .body(Bytes::new())
            .unwrap();
        assert!(FixedResponse::new(early).is_err());
        let big = Response::new(vec![0u8; FIXED_BODY_MAX + 1]);
        assert!(FixedResponse::new(big).is_err());
    }

    #[test]
    fn to_response_has_the_same_parts() {
        let fixed = FixedResponse::new(hello()).unwrap();
        let res = fixed.to_response();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(res.body().len(), Some(5));
    }
}
