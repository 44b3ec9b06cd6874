//! A reverse proxy on [`Client`]: requests under a path prefix go to an upstream, with
//! hop-by-hop fields removed both ways (RFC 9110 §7.6.1, including the fields
//! `Connection` names), `Forwarded`, `X-Forwarded-For` and `X-Forwarded-Proto` added, and
//! both bodies streamed as they arrive.
//!
//! - **Routes** ([`Route`], `PREFIX=URL`): the longest matching prefix wins.
//! - **Host**: the upstream's `host[:port]` by default, as nginx's `proxy_pass` does;
//!   [`HostHeader::Keep`] forwards the client's `Host` instead.
//! - **Errors**: an upstream that cannot be reached, fails mid-exchange or sends a
//!   malformed or ambiguously framed response head gets its client a 502; one that times
//!   out, a 504. Each is a short text body and a `log::warn!` line.
//! - **Upgrades** (WebSocket): a request the server offered an upgrade (see
//!   [`crate::upgrade`]) keeps its `Upgrade` and `Connection: upgrade`; on the upstream's
//!   `101` the two connections become a byte pipe both ways, half-closes passed on, ended
//!   after [`ProxyBuilder::upgrade_idle_timeout`] without traffic. Pipes hold no permit of
//!   the limit below (they count as the server's connections instead).
//! - **Limit**: per core and route, at most [`ProxyBuilder::max_connections`] exchanges
//!   at once and [`ProxyBuilder::max_queue`] requests waiting; beyond both, 503 at once.
//!
//! Build a [`ProxyBuilder`] once and a [`Proxy`] per core in the handler factory; a
//! `Proxy` is a [`Handler`] (404 outside its routes), or is asked by another handler
//! with [`Proxy::route`] and [`Proxy::forward`].
//!
//! ```no_run
//! use coreline_http::proxy::ProxyBuilder;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let proxy = ProxyBuilder::new(vec!["/api/=http://127.0.0.1:9000/".parse()?]);
//! coreline_http::Server::builder()
//!     .listen("127.0.0.1:8080".parse()?)
//!     .build(move || proxy.build())?
//!     .run()?;
//! # Ok(()) }
//! ```

mod forward;
mod forwarding;
mod headers;
mod limit;
mod pipe;
mod route;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use http::{Request, Response};

pub use route::{Route, RouteError};

use crate::client::{Client, ClientBuilder, Upstream};
use crate::{Body, Handler};
use limit::Limiter;

/// Which `Host` the upstream is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostHeader {
    /// The upstream's `host[:port]` from the route's URL (nginx's default).
    #[default]
    Upstream,
    /// The client's `Host`, unchanged (for upstreams serving several names).
    Keep,
}

impl FromStr for HostHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "upstream" => Ok(HostHeader::Upstream),
            "keep" => Ok(HostHeader::Keep),
            _ => Err(format!("`{s}`: expected keep or upstream")),
        }
    }
}

/// A proxy's settings; [`build`](Self::build) one [`Proxy`] per core from it.
#[derive(Clone, Debug)]
pub struct ProxyBuilder {
    routes: Vec<Route>,
    host: HostHeader,
    client: ClientBuilder,
    max_connections: usize,
    max_queue: usize,
    upgrade_idle: Option<Duration>,
}

impl ProxyBuilder {
    /// The default exchanges at once per core and route.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
    /// The default requests waiting per core and route.
    pub const DEFAULT_MAX_QUEUE: usize = 1024;

    /// A proxy for `routes` with the defaults: the upstream's `Host`, 256 exchanges and
    /// 1024 waiting per core and route, 5 s connect and 60 s read and write timeouts,
    /// up to 256 idle keep-alive connections per upstream.
    pub fn new(routes: Vec<Route>) -> Self {
        let client = Client::builder()
            .read_timeout(Duration::from_secs(60))
            .write_timeout(Duration::from_secs(60))
            .max_idle_per_host(Self::DEFAULT_MAX_CONNECTIONS);
        ProxyBuilder {
            routes,
            host: HostHeader::default(),
            client,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_queue: Self::DEFAULT_MAX_QUEUE,
            upgrade_idle: None,
        }
    }

    /// Which `Host` the upstream is sent.
    pub fn host(mut self, host: HostHeader) -> Self {
        self.host = host;
        self
    }

    /// The client's settings (timeouts, pool, TLS for `https://` upstreams).
    pub fn client(mut self, client: ClientBuilder) -> Self {
        self.client = client;
        self
    }

    /// Most exchanges with one route's upstream at once, per core (0: no limit).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Most requests waiting for one of those exchanges, per core and route; one more
    /// is answered 503.
    pub fn max_queue(mut self, max: usize) -> Self {
        self.max_queue = max;
        self
    }

    /// How long an upgraded connection (WebSocket) may pass no byte either way before it
    /// is closed; by default the client's read timeout, as nginx uses
    /// `proxy_read_timeout`.
    pub fn upgrade_idle_timeout(mut self, idle: Duration) -> Self {
        self.upgrade_idle = Some(idle);
        self
    }

    /// The routes, in the order given.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// A proxy for the current core.
    pub fn build(&self) -> Proxy {
        let mut routes: Vec<ProxyRoute> = self
            .routes
            .iter()
            .map(|route| ProxyRoute {
                upstream: route.upstream(),
                route: route.clone(),
                limiter: Limiter::new(self.max_connections, self.max_queue),
            })
            .collect();
        // Longest prefix first: the first match is the longest.
        routes.sort_by_key(|r| std::cmp::Reverse(r.route.prefix().len()));
        Proxy {
            inner: Rc::new(Inner {
                routes,
                host: self.host,
                upgrade_idle: (self.upgrade_idle).unwrap_or(self.client.configured_read_timeout()),
                client: self.client.build(),
            }),
        }
    }
}

/// One core's proxy: its client, and each route's limiter. Cheap to clone; `!Send`.
#[derive(Clone)]
pub struct Proxy {
    inner: Rc<Inner>,
}

struct Inner {
    routes: Vec<ProxyRoute>,
    host: HostHeader,
    client: Client,
    /// How long an upgraded pipe may stay silent.
    upgrade_idle: Duration,
}

struct ProxyRoute {
    route: Route,
    /// The route's upstream, resolved once (the client's pool key).
    upstream: Upstream,
    limiter: Rc<Limiter>,
}

/// Which of a [`Proxy`]'s routes a request matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteIndex(usize);

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<_> = self.inner.routes.iter().map(|r| &r.route).collect();
        f.debug_struct("Proxy").field("routes", &routes).finish()
    }
}

impl Proxy {
    /// The route for a request `path`: the one with the longest matching prefix.
    pub fn route(&self, path: &str) -> Option<RouteIndex> {
        self.inner
            .routes
            .iter()
            .position(|r| r.route.matches(path))
            .map(RouteIndex)
    }

    /// Forwards `request` to the upstream of `route` and returns its response (or the
    /// 502, 503 or 504 that stands for it).
    pub fn forward(
        &self,
        route: RouteIndex,
        request: Request<Body>,
    ) -> impl Future<Output = Response<Body>> + 'static {
        forward::forward(Rc::clone(&self.inner), route.0, request)
    }

    /// [`forward`](Self::forward) as a boxed future, for handlers whose future type is
    /// one. Cheaper than boxing `forward`'s future: the allocation comes first and the
    /// future is written into it, where `Box::pin(future)` builds the future (its size is
    /// that of its largest state, a few KiB) on the stack and copies all of it.
    pub fn forward_boxed(
        &self,
        route: RouteIndex,
        request: Request<Body>,
    ) -> Pin<Box<dyn Future<Output = Response<Body>>>> {
        let slot = Box::new_uninit();
        let boxed: Pin<Box<_>> = Box::into_pin(Box::write(slot, self.forward(route, request)));
        boxed
    }
}

impl Handler for Proxy {
    type Future = Pin<Box<dyn Future<Output = Response<Body>>>>;

    fn call(&self, request: Request<Body>) -> Self::Future {
        match self.route(request.uri().path()) {
            Some(route) => self.forward_boxed(route, request),
            None => Box::pin(std::future::ready(forward::text(
                http::StatusCode::NOT_FOUND,
                "not found\n",
            ))),
        }
    }
}
