//! [`MetricsAdmin`]: the handler of an admin listener that shows another server's metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use super::scrape::SnapshotCache;
use super::{latency_table, prometheus_text};
use crate::{recycle, response, Body, Handler, ServerHandle};

/// Serves the metrics of the server behind `handle`, typically from a small server of its
/// own (one core, its own listener, as `coreline serve --metrics ADDR` does):
///
/// - `GET /metrics`: Prometheus text ([`prometheus_text`]);
/// - `GET /debug/latency`: the per-core percentile table ([`latency_table`]);
/// - `GET /healthz`: `200 ok` while the observed server accepts on every core, `503
///   draining` from the moment its graceful shutdown begins (so a load balancer stops
///   sending it new connections while it finishes the old ones), `503 starting` before it
///   accepts; it never waits for the observed cores;
/// - `GET /`: a list of these.
///
/// Other paths get 404, other methods 405; `/metrics` and `/debug/latency` get 503 while
/// the observed server has no metrics (not started yet, or built without
/// [`Builder::metrics`](crate::Builder::metrics)).
///
/// Scrapes are served from one gather at a time: concurrent ones share the gather in
/// progress, and for a second after it its snapshot answers without asking the observed
/// cores again, so clients cannot load those cores by scraping. Clones share this cache:
/// make one handler and clone it in each core's factory.
#[derive(Clone)]
pub struct MetricsAdmin {
    observed: ServerHandle,
    cache: Arc<SnapshotCache>,
}

impl std::fmt::Debug for MetricsAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAdmin")
            .field("observed", &self.observed)
            .field("gathers", &self.gathers())
            .finish()
    }
}

impl MetricsAdmin {
    /// An admin handler for the server behind `observed`.
    pub fn new(observed: ServerHandle) -> Self {
        MetricsAdmin {
            observed,
            cache: Arc::default(),
        }
    }

    /// How many snapshots this handler and its clones have gathered from the observed
    /// cores (each scrape served from a shared or cached snapshot adds nothing).
    pub fn gathers(&self) -> u64 {
        self.cache.gathers()
    }
}

const INDEX: &str = "coreline admin: GET /metrics (Prometheus text), GET /debug/latency \
                     (percentile table per core), GET /healthz (200 ok, 503 while draining)\n";

impl Handler for MetricsAdmin {
    type Future = Pin<Box<dyn Future<Output = Response<Body>>>>;

    fn call(&self, req: Request<Body>) -> Self::Future {
        let (observed, cache) = (self.observed.clone(), self.cache.clone());
        let get = req.method() == Method::GET || req.method() == Method::HEAD;
        let path = req.uri().path().to_string();
        recycle(req);
        Box::pin(async move {
            let render: fn(&super::MetricsSnapshot) -> String = match path.as_str() {
                _ if !get
                    && matches!(
                        path.as_str(),
                        "/" | "/metrics" | "/debug/latency" | "/healthz"
                    ) =>
                {
                    let mut res = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
                    res.headers_mut()
                        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                    return res;
                }
                "/" => return text(StatusCode::OK, INDEX),
                "/healthz" => return health(&observed),
                "/metrics" => prometheus_text,
                "/debug/latency" => latency_table,
                _ => return text(StatusCode::NOT_FOUND, "not found\n"),
            };
            let Some(snap) = cache.snapshot(&observed).await else {
                return text(StatusCode::SERVICE_UNAVAILABLE, "no metrics (yet)\n");
            };
            let mut res = response(StatusCode::OK, Body::from(render(&snap)));
            let kind = match path.as_str() {
                "/metrics" => "text/plain; version=0.0.4; charset=utf-8",
                _ => "text/plain; charset=utf-8",
            };
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
            res
        })
    }
}

/// `/healthz`: shutdown first, since a server that finished is also not ready.
fn health(observed: &ServerHandle) -> Response<Body> {
    if observed.is_shutting_down() {
        text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else if observed.wait_ready(std::time::Duration::ZERO) {
        text(StatusCode::OK, "ok\n")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut res = response(status, Body::from(body));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
