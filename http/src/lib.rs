//! coreline-http: a minimal, strict HTTP/1.1 keep-alive server on the coreline runtime.
//!
//! - **Types**: handlers take an `http::Request<`[`Body`]`>` and return an
//!   `http::Response<Body>`; see [`Handler`].
//! - **Thread per core**: [`Server::run`] starts one pinned thread per core, each with its
//!   own `SO_REUSEPORT` listener, connections and handler (built by a factory on that core,
//!   so it may be `!Send`).
//! - **Strict parsing**: ambiguous framing, malformed heads and bodies are
//!   refused with the right 4xx/5xx, `Connection: close` and a lingering close.
//! - **Pipelining**: every complete request already received is answered in order, and the
//!   responses of a batch leave in one send.
//! - **Fixed responses**: a handler answers a method and path with a [`FixedResponse`]
//!   encoded once ([`Handler::fixed_response`]); a plain request for it is answered from
//!   the parsed head, without building an `http::Request`.
//! - **Memory**: an idle keep-alive connection holds no receive or output buffer (they go
//!   back to per-core pools) and costs under 1 KiB in all. A request's URI and header
//!   values are slices of the receive buffer, and header maps come from a per-core pool:
//!   a handler that gives requests back with [`recycle`] and builds responses with
//!   [`response`] makes the request path allocation-free once warm (the `coreline`
//!   binary's `/plaintext` does, proven by a counting allocator in `tests/zero_alloc.rs`).
//! - **Timeouts** ([`Timeouts`]): header read (408), idle keep-alive, body read, write,
//!   lingering close; enforced by a per-core sweeper, so none costs a timer per request.
//! - **Graceful shutdown** through a [`ServerHandle`] from any thread.
//! - **Connection info**: every request's extensions hold a [`ConnectInfo`] (peer and
//!   local address) and, over TLS, a [`TlsInfo`] (SNI name, ALPN protocol, TLS version),
//!   worked out once per connection.
//! - **`Server` field**: none unless [`Builder::server_header`] sets one.
//! - **HTTPS** ([`Builder::tls_listen`]): the same handler behind a rustls
//!   [`TlsAcceptor`](coreline_tls::TlsAcceptor), beside or instead of plain listeners; the
//!   handshake runs in the connection's task (bounded by [`Timeouts::tls_handshake`]),
//!   graceful closes send `close_notify`, and a truncation is an error, never the end of a
//!   message. Files are read and sent encrypted instead of spliced.
//! - **Tower** (the `tower` feature, module `service`): a `tower::Service` per core, such as
//!   an `axum::Router`, instead of a handler fn; with the `http-body` feature (which
//!   `tower` turns on), [`Body`] is an `http_body::Body` and any `http_body::Body` can be
//!   a response body.
//! - **Latency metrics** ([`metrics`], off unless [`Builder::metrics`]): per-core
//!   HdrHistograms of accept → first byte, queue wait and service time, accept-queue
//!   depth, exported as Prometheus text, a percentile table and interval logs.
//! - **Upstream calls** ([`client`]): an HTTP/1.1 [`Client`](client::Client) per core
//!   with a keep-alive pool, timeouts, streamed bodies and HTTPS, parsing responses as
//!   strictly as the server parses requests.
//! - **Access log** ([`Builder::access_log`], off by default): one line per response in
//!   nginx's `combined` format or as JSON, written by one writer thread so a core never
//!   waits for the disk.
//! - **tokio-based libraries** (feature `tokio`): a handler awaits a future that needs a
//!   tokio runtime through `tokio_compat`; it runs on a tokio runtime beside the cores.
//!
//! ```no_run
//! use coreline_http::{response, recycle, Body, ConnectInfo, Server};
//! use http::{header, HeaderValue, Request, StatusCode};
//!
//! Server::builder()
//!     .listen("127.0.0.1:8080".parse().unwrap())
//!     .server_header(Some(HeaderValue::from_static("hello/1.0")))
//!     .build(|| |req: Request<Body>| async move {
//!         let body = match req.uri().path() {
//!             "/whoami" => {
//!                 let peer = req.extensions().get::<ConnectInfo>().map(|c| c.peer);
//!                 Body::from(format!("{peer:?}\n"))
//!             }
//!             _ => Body::from_static(b"Hello, World!"),
//!         };
//!         recycle(req); // give the header and extension maps back to the core's pools
//!         let mut res = response(StatusCode::OK, body);
//!         res.headers_mut()
//!             .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
//!         res
//!     })?
//!     .run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod access_log;
mod body;
pub mod client;
mod clock;
mod config;
mod conn;
mod conn_info;
mod date;
mod encode;
mod fixed;
mod fnv;
mod handler;
mod listen_addr;
pub mod metrics;
mod parse;
mod pool;
pub mod proxy;
mod server;
#[cfg(feature = "tower")]
pub mod service;
pub mod static_files;
pub mod upgrade;

/// The request parser, response encoder and date cache, for the fuzz targets (`fuzz/`)
/// and the benchmarks: internals, not public API, with no stability promise.
#[doc(hidden)]
pub mod __fuzz {
    /// The request-head and chunked-body parsers.
    pub mod parse {
        pub use crate::parse::*;
    }
    /// Response-head encoding.
    pub mod encode {
        pub use crate::encode::*;
    }
    /// The cached `Date` value.
    pub mod date {
        pub use crate::date::*;
    }
}

pub use access_log::{AccessLog, AccessLogFormat};
pub use body::Body;
pub use config::{FileBodyMethod, Limits, Timeouts};
pub use conn_info::{ConnectInfo, TlsInfo};
/// Feature `tokio`: handlers await futures that need a tokio runtime (tokio-based clients,
/// tokio timers) through a [`TokioBridge`](tokio_compat::TokioBridge), without blocking
/// their core.
#[cfg(feature = "tokio")]
pub use coreline_runtime::tokio_compat;
pub use fixed::{FixedResponse, FixedResponseError, FIXED_BODY_MAX};
pub use handler::Handler;
pub use listen_addr::ListenAddr;
pub use pool::{recycle, response};
pub use server::{raise_fd_limit, Builder, ListenerMode, Server, ServerHandle, LOW_FD_LIMIT};
