//! One request through the proxy: wait for a permit, rewrite the head, exchange with the
//! upstream, and hand back its response (or the status standing for its failure) with the
//! permit held until the response body has been sent.

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::header::{self, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};

use super::forwarding::{self, Origin};
use super::headers;
use super::limit::Permit;
use super::pipe;
use super::{HostHeader, Inner};
use crate::body::{BoxStream, Kind};
use crate::client::Outgoing;
use crate::upgrade::OnUpgrade;
use crate::{response, Body, ConnectInfo, TlsInfo};

/// Forwards `request` along route `index` of `proxy`.
pub(super) async fn forward(
    proxy: Rc<Inner>,
    index: usize,
    request: Request<Body>,
) -> Response<Body> {
    let route = &proxy.routes[index];
    let permit = match route.limiter.acquire() {
        Ok(waiting) => waiting.await,
        Err(_) => {
            log::warn!(
                "proxy {}: {} {}: too many requests waiting for the upstream; answered 503",
                route.route.origin(),
                request.method(),
                request.uri().path(),
            );
            return text(StatusCode::SERVICE_UNAVAILABLE, "upstream busy\n");
        }
    };
    let (mut parts, body) = request.into_parts();
    // An upgrade is asked for upstream only if the server offered one for this request.
    let downstream = parts.extensions.remove::<OnUpgrade>();
    let upgrade_to = match &downstream {
        Some(_) => parts.headers.get(header::UPGRADE).cloned(),
        None => None,
    };
    // The request's own URI stays here (for the log line); the upstream's target is
    // written from its pieces.
    let original = std::mem::take(&mut parts.uri);
    let target = route
        .route
        .upstream_target(original.path_and_query().map_or("/", |pq| pq.as_str()));
    headers::remove_hop_by_hop(&mut parts.headers);
    // With the hop-by-hop fields gone, only these ask the upstream for an upgrade.
    let upgrade = upgrade_to.is_some();
    if let Some(protocol) = upgrade_to {
        headers::ask_upgrade(&mut parts.headers, protocol);
    }
    // With `HostHeader::Upstream` the client writes the upstream's authority in its
    // place (the field stays in the map: taking it out costs more than skipping it).
    // Found by a scan, not a hashed lookup: the server let at most one through, and
    // clients send it among the first fields.
    let host = parts
        .headers
        .iter()
        .find(|(name, _)| *name == header::HOST)
        .map(|(_, value)| value.clone());
    let origin = Origin {
        peer: parts.extensions.get::<ConnectInfo>().map(|c| c.peer),
        proto: if parts.extensions.get::<TlsInfo>().is_some() {
            "https"
        } else {
            "http"
        },
        host: host.as_ref(),
    };
    let forwarding = forwarding::forwarding_lines(&mut parts.headers, &origin);
    let head_request = parts.method == Method::HEAD;
    let method = parts.method.clone();
    parts.version = Version::HTTP_11;
    let outgoing = Outgoing {
        target: &target,
        lines: &forwarding,
        upgrade,
        upstream_host: proxy.host == HostHeader::Upstream,
    };
    let sent = proxy
        .client
        .send_to(&route.upstream, &outgoing, parts, body)
        .await;
    match sent {
        Ok(response) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            // (The client accepts a 101 only to a request that asked for the upgrade.)
            let origin = route.route.origin().to_string();
            match downstream {
                Some(downstream) => pipe::switch(response, downstream, proxy.upgrade_idle, origin),
                None => text(StatusCode::BAD_GATEWAY, "bad gateway\n"),
            }
        }
        Ok(response) => {
            let (mut parts, mut body) = response.into_parts();
            if head_request {
                // No body follows, but the head says how long the GET's would be.
                body = Body {
                    kind: Kind::Omitted(content_length(&parts.headers)),
                };
            }
            headers::remove_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, holding(body, permit))
        }
        Err(e) => {
            let (status, body) = if e.is_timeout() {
                (StatusCode::GATEWAY_TIMEOUT, "upstream timed out\n")
            } else {
                (StatusCode::BAD_GATEWAY, "bad gateway\n")
            };
            log::warn!(
                "proxy {}: {} {}: {e}; answered {}",
                route.route.origin(),
                method,
                original.path(),
                status.as_u16()
            );
            text(status, body)
        }
    }
}

/// The one Content-Length of a response head (the client refused a head with more).
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A short `text/plain` response.
pub(super) fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut res = response(status, Body::from_static(body.as_bytes()));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    res
}

/// `body` keeping `permit` until it has been read to its end or dropped. A body that is
/// not a stream came whole with the head, and its connection is already free.
fn holding(body: Body, permit: Permit) -> Body {
    match body.kind {
        Kind::Socket(mut socket) => {
            socket.hold(Box::new(permit));
            Body {
                kind: Kind::Socket(socket),
            }
        }
        Kind::Stream { stream, len } => Body {
            kind: Kind::Stream {
                stream: Box::pin(Holding {
                    stream,
                    _permit: permit,
                }),
                len,
            },
        },
        kind => Body { kind },
    }
}

/// A response body stream and the permit of its exchange.
struct Holding {
    stream: BoxStream,
    _permit: Permit,
}

impl Stream for Holding {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().stream.as_mut().poll_next(cx)
    }
}
