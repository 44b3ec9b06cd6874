//! A `tower::Service` per core instead of a handler fn (the `tower` feature): serve an
//! `axum::Router`, or any service over `http::Request<`[`ServiceBody`]`>`, with
//! [`Builder::build_service`](crate::Builder::build_service).
//!
//! ```no_run
//! let router = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
//! coreline_http::Server::builder()
//!     .listen("127.0.0.1:3000".parse().unwrap())
//!     .build_service(move || router.clone())?
//!     .run()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! **Per core.** The factory runs once on each core's thread, like a handler factory, so
//! the service may be `!Send`. Each request calls a clone of that core's service (tower's
//! convention for a shared service: `Router` clones are reference-count increments), after
//! `poll_ready`. The service is adapted into a [`Handler`]: the handler-fn path is not
//! touched, and without the feature none of this is compiled.
//!
//! **The request body is read before the service is called**, whole, into one `Bytes`
//! (bounded by [`Limits::max_body`](crate::Limits::max_body), 1 MiB by default), and handed
//! over as a [`ServiceBody`]. Why: axum requires a request body that is `Send + 'static`,
//! and [`Body`] is neither `Send` nor detachable from its connection (it reads through the
//! connection's task on its core's ring). The alternative, a `Send` body fed through a
//! bounded channel by the connection's task while the service runs, would stream large
//! uploads, but costs a channel, its synchronisation and a waker per chunk on every
//! request, and the bodies axum services take (JSON, forms, `Bytes`, `String`) are
//! buffered whole by the extractors anyway. Reading first costs nothing for requests
//! without a body (most GETs: no read, no allocation), and for the small bodies it costs
//! what the extractor would have paid. What it gives up: a service cannot stream a request
//! body larger than the limit, nor answer before the body has arrived (a `100 Continue`
//! client is sent `100 Continue` before the service runs). A body that fails to read
//! (too large, malformed, too slow) is answered by the server (413, 400, 408) without
//! calling the service. Memory follows the bytes that actually arrive (nothing is reserved
//! from a Content-Length), so what clients can make a core hold in bodies is bounded by
//! connections × `max_body`, and holding it costs them the upload at more than the
//! minimum body rate: lower `max_body` where many slow uploads are expected (axum's own
//! `DefaultBodyLimit` is 2 MB). The cost is measured by `coreline-bench compare` with the
//! `axum-coreline` and `axum-tokio` servers (see bench/README.md, "axum on coreline vs
//! axum::serve").
//!
//! **The response body** is any `http_body::Body`: one whose data is ready at once and
//! whose size hint is exact (axum's JSON, strings, bytes) becomes a bytes body and is sent
//! behind the head like a handler's; others stream ([`Body::from_http_body`]). A service
//! error (`Err`) is logged and answered with 500.

mod body;

use std::error::Error as StdError;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower_service::Service;

pub use self::body::ServiceBody;
use crate::server::{Builder, Server};
use crate::{pool, Body, Handler};

/// A tower service as the server's [`Handler`] on one core (built by
/// [`Builder::build_service`]).
#[derive(Clone)]
pub struct ServiceHandler<S> {
    service: S,
    /// The most request body bytes read for one request.
    body_limit: usize,
}

impl<S> fmt::Debug for ServiceHandler<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceHandler")
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl<S> ServiceHandler<S> {
    /// Wraps `service`; request bodies are read up to `body_limit` bytes.
    pub fn new(service: S, body_limit: usize) -> Self {
        ServiceHandler {
            service,
            body_limit,
        }
    }
}

impl<S, B> Handler for ServiceHandler<S>
where
    S: Service<Request<ServiceBody>, Response = Response<B>> + Clone + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    S::Future: 'static,
    B: http_body::Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    /// Boxed: a service's futures (axum's route futures) are large, and the connection
    /// keeps the handler's future inline.
    type Future = Pin<Box<dyn Future<Output = Response<Body>>>>;

    fn call(&self, request: Request<Body>) -> Self::Future {
        let service = self.service.clone();
        let limit = self.body_limit;
        Box::pin(serve(service, request, limit))
    }
}

/// Reads the request body, calls the service, converts its response.
async fn serve<S, B>(mut service: S, request: Request<Body>, limit: usize) -> Response<Body>
where
    S: Service<Request<ServiceBody>, Response = Response<B>>,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: http_body::Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let data = match body.len() {
        Some(0) => Bytes::new(),
        _ => match body.collect(limit).await {
            Ok(data) => data,
            // The server answers a failed body read itself (413, 400, 408), whatever this is.
            Err(_) => return pool::response(StatusCode::BAD_REQUEST, Body::empty()),
        },
    };
    let request = Request::from_parts(parts, ServiceBody::new(data));
    if let Err(e) = poll_fn(|cx| service.poll_ready(cx)).await {
        return failed("not ready", e.into());
    }
    match service.call(request).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            Response::from_parts(parts, Body::from_http_body_ready(body).await)
        }
        Err(e) => failed("failed", e.into()),
    }
}

fn failed(what: &str, e: Box<dyn StdError + Send + Sync>) -> Response<Body> {
    log::error!("coreline: service {what}: {e}; sent 500");
    pool::response(StatusCode::INTERNAL_SERVER_ERROR, Body::empty())
}

impl Builder {
    /// Like [`build`](Builder::build), with a tower service instead of a handler fn:
    /// `make` runs once on each core's thread to build that core's service (so it may be
    /// `!Send`), and each request calls a clone of it with an
    /// `http::Request<`[`ServiceBody`]`>` (the body read whole first, up to
    /// [`Limits::max_body`](crate::Limits::max_body); see the [module doc](crate::service)).
    /// An `axum::Router` is such a service: `.build_service(move || router.clone())`.
    pub fn build_service<M, S, B>(
        self,
        make: M,
    ) -> std::io::Result<Server<impl Fn() -> ServiceHandler<S> + Send + Sync>>
    where
        M: Fn() -> S + Send + Sync,
        S: Service<Request<ServiceBody>, Response = Response<B>> + Clone + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        S::Future: 'static,
        B: http_body::Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let limit = usize::try_from(self.limits_set().max_body).unwrap_or(usize::MAX);
        self.build(move || ServiceHandler::new(make(), limit))
    }
}
