//! An HTTP/1.1 client on the runtime, for handlers that call other services: one
//! [`Client`] per core (it is `!Send`; build it in the handler factory), a keep-alive pool
//! per upstream, connect/read/write timeouts, Content-Length and chunked bodies streamed
//! both ways, HTTPS through [`coreline_tls::TlsConnector`].
//!
//! - **Strict responses**: a response head goes through the same framing rules as the
//!   server's requests (both Content-Length and Transfer-Encoding, conflicting lengths,
//!   bad chunk sizes, bare LF... are refused with [`Error::InvalidResponse`]), so the
//!   client never guesses where a response ends.
//! - **The keep-alive race**: an upstream may close an idle pooled connection just as a
//!   request goes out on it. A request that fails on a reused connection before any
//!   response byte arrived is sent once more on a new connection if its method is
//!   idempotent (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) and its body is in memory;
//!   never otherwise, since the upstream may have acted on it.
//! - **Early answers**: an upstream may answer before the request body is in (a 413, say)
//!   and close, so the rest of the body fails to send. The client then returns that answer
//!   (its body as far as it arrived) instead of the send's error; the connection is not
//!   reused.
//! - **Bodies**: the response body streams from the connection (a small one that came
//!   with the head is returned whole); once it is read to its end, the connection goes
//!   back to the pool. A body dropped unread closes its connection. A large
//!   Content-Length body on a plain connection, returned as a server response, is
//!   spliced socket to socket ([`ClientBuilder::splice_min`]).
//! - **Upgrades**: a request with `Connection: upgrade` and `Upgrade` that gets a `101`
//!   from a plain-TCP upstream returns that response with the connection in it, never
//!   pooled: take it with [`upgrade::on`](crate::upgrade::on).
//!
//! ```no_run
//! use coreline_http::client::Client;
//! use coreline_http::Body;
//!
//! # async fn call() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder().build();
//! let request = http::Request::get("http://127.0.0.1:9000/users/1").body(Body::empty())?;
//! let response = client.request(request).await?;
//! let bytes = response.into_body().collect(1 << 20).await?;
//! # Ok(()) }
//! ```

mod body;
mod builder;
mod conn;
mod connect;
mod deadline;
mod error;
mod pool;
mod request;
mod response;
mod socket_body;
mod upstream;

use std::rc::Rc;
use std::sync::OnceLock;

use coreline_tls::TlsConnector;
use http::{Method, Request, Response};

pub use builder::ClientBuilder;
pub use error::Error;
pub(crate) use socket_body::SocketBody;

use body::Return;
use conn::Conn;
use pool::Pool;
pub(crate) use request::Outgoing;
use response::HeadFailure;
pub(crate) use upstream::Upstream;

use crate::Body;

/// An HTTP/1.1 client with a keep-alive pool, on one core. Cheap to clone (clones share
/// the pool); `!Send`.
#[derive(Clone)]
pub struct Client {
    inner: Rc<Inner>,
}

struct Inner {
    config: ClientBuilder,
    pool: Rc<Pool>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl Client {
    /// Settings to build clients from, starting from the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Sends `request` (its URI absolute: `http://host[:port]/path` or `https://...`)
    /// and returns the response once its head has arrived; the body streams after.
    ///
    /// The request body goes out with `Content-Length` if its length is known, else
    /// chunked; the caller's Content-Length and Transfer-Encoding fields are replaced
    /// accordingly. `Host` is the URI's authority unless the request has one.
    pub async fn request<B: Into<Body>>(
        &self,
        request: Request<B>,
    ) -> Result<Response<Body>, Error> {
        let (mut parts, body) = request.into_parts();
        let upstream = Upstream::of(&parts.uri)?;
        let uri = std::mem::take(&mut parts.uri);
        let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let outgoing = Outgoing {
            target: &[target],
            lines: &[],
            upgrade: crate::upgrade::is_requested(&parts.headers),
            upstream_host: false,
        };
        self.send_to(&upstream, &outgoing, parts, body.into()).await
    }

    /// Sends a request to `upstream` with the head of `parts` written as `outgoing`
    /// says (`parts.uri` is not used): the proxy's path, with the upstream resolved once
    /// per route and no URI built per request.
    pub(crate) async fn send_to(
        &self,
        upstream: &Upstream,
        outgoing: &Outgoing<'_>,
        parts: http::request::Parts,
        body: Body,
    ) -> Result<Response<Body>, Error> {
        let head = request::encode_head(&parts, outgoing, upstream, body.len());
        let head_request = parts.method == Method::HEAD;
        // What a retry sends again: only a body still in memory, or none at all.
        let replay = is_idempotent(&parts.method)
            .then(|| {
                body.in_memory()
                    .or_else(|| body.is_empty().then(bytes::Bytes::new))
            })
            .flatten();
        // The head is encoded: the header map (and, for a request the server received, its
        // extension map with the connection info) go back to the core's pool.
        crate::pool::put_request_parts(parts);
        let pooled = self.inner.pool.take(upstream);
        let conn = match pooled {
            Some(conn) => conn,
            None => self.connect(upstream).await?,
        };
        let first = self
            .exchange(conn, upstream, &head, body, head_request)
            .await;
        match (first, replay) {
            (Err(Attempt::Retryable(e)), Some(whole)) => {
                log::debug!(
                    "upstream {}:{} closed a pooled connection ({e}); retrying on a new one",
                    upstream.host(),
                    upstream.port
                );
                // Boxed: a second exchange future inline would double this future's size
                // for a path few requests take.
                Box::pin(self.retry(upstream, &head, whole, head_request)).await
            }
            (result, _) => result.map_err(Attempt::into_error),
        }
    }

    /// The keep-alive race's one retry: `whole` sent again on a new connection.
    async fn retry(
        &self,
        upstream: &Upstream,
        head: &request::Head,
        whole: bytes::Bytes,
        head_request: bool,
    ) -> Result<Response<Body>, Error> {
        let conn = self.connect(upstream).await?;
        self.exchange(conn, upstream, head, Body::from(whole), head_request)
            .await
            .map_err(Attempt::into_error)
    }

    /// How many idle connections to the upstream of `uri` the pool holds.
    pub fn idle_connections(&self, uri: &http::Uri) -> usize {
        Upstream::of(uri).map_or(0, |u| self.inner.pool.idle_count(&u))
    }

    async fn connect(&self, upstream: &Upstream) -> Result<Box<Conn>, Error> {
        let config = &self.inner.config;
        let tls = if upstream.https {
            Some(match &config.tls {
                Some(tls) => tls,
                None => system_tls()?,
            })
        } else {
            None
        };
        // Boxed: the TLS handshake makes this future about 4 KiB, and inline it would
        // size every exchange's future (and the proxy's boxed request future) by it, most
        // of them on a pooled connection that never connects.
        Box::pin(connect::connect(
            upstream,
            tls,
            config.connect_timeout,
            config.unpaced_loopback,
        ))
        .await
    }

    /// One request/response on `conn`.
    async fn exchange(
        &self,
        mut conn: Box<Conn>,
        upstream: &Upstream,
        head: &request::Head,
        body: Body,
        head_request: bool,
    ) -> Result<Response<Body>, Attempt> {
        let config = &self.inner.config;
        let reused = conn.reused;
        let sent = request::send(&mut conn, head, body, config.write_timeout).await;
        let send_failed = sent.is_err();
        let response_head = match sent {
            Ok(()) => response::read_head(
                &mut conn,
                head_request,
                head.upgrade,
                config.max_response_head,
                config.read_timeout,
            )
            .await
            .map_err(|failure| match failure {
                HeadFailure::ClosedBeforeAnyByte(e) if reused => Attempt::Retryable(e),
                HeadFailure::ClosedBeforeAnyByte(e) | HeadFailure::Other(e) => Attempt::Fatal(e),
            })?,
            // An upstream may answer before the body is in (a 413, say) and close; the
            // send then fails, but its answer is on the connection and is what it meant.
            Err(Error::Io(e)) => match response::early_head(
                &mut conn,
                head_request,
                config.max_response_head,
                config.read_timeout,
            )
            .await
            {
                Some(early) => early,
                None if reused && response::is_reset(&e) => {
                    return Err(Attempt::Retryable(Error::Io(e)))
                }
                None => return Err(Attempt::Fatal(Error::Io(e))),
            },
            Err(e) => return Err(Attempt::Fatal(e)),
        };
        if response_head.parts.status == http::StatusCode::SWITCHING_PROTOCOLS {
            // Never pooled: the connection now speaks the new protocol.
            let upgraded = conn.into_upgraded().map_err(Attempt::Fatal)?;
            let mut parts = response_head.parts;
            parts.extensions.insert(crate::upgrade::ready(upgraded));
            return Ok(Response::from_parts(parts, Body::empty()));
        }
        let then = Return {
            pool: Rc::clone(&self.inner.pool),
            upstream: upstream.clone(),
            // After a failed send the connection is broken whatever the head says.
            keep_alive: response_head.keep_alive && !head.close && !send_failed,
        };
        let body = body::response_body(
            conn,
            response_head.framing,
            then,
            config.read_timeout,
            config.splice_min,
        );
        Ok(Response::from_parts(response_head.parts, body))
    }
}

/// How one attempt failed.
enum Attempt {
    /// On a reused connection, before any response byte: may be sent again if idempotent.
    Retryable(Error),
    Fatal(Error),
}

impl Attempt {
    fn into_error(self) -> Error {
        match self {
            Attempt::Retryable(e) | Attempt::Fatal(e) => e,
        }
    }
}

/// RFC 9110 §9.2.2.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// The connector trusting the system's roots, loaded on first use (shared by all cores).
fn system_tls() -> Result<&'static TlsConnector, Error> {
    static SYSTEM: OnceLock<Result<TlsConnector, String>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| TlsConnector::system_roots().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| {
            log::warn!("no system TLS roots for HTTPS upstreams: {e}");
            Error::InvalidRequest("HTTPS upstream, but the system's TLS roots could not be loaded")
        })
}
