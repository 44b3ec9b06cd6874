//! Connection upgrades (`101 Switching Protocols`, e.g. WebSocket): the connection leaves
//! HTTP and becomes a byte pipe owned by whoever asked for it, shaped as hyper's
//! `hyper::upgrade`.
//!
//! - **Server**: a request that asks for an upgrade (`Connection: upgrade` and an
//!   `Upgrade` field, HTTP/1.1, no body, plain TCP, the server not draining) carries an
//!   [`OnUpgrade`] extension; take it with [`on`]. If the handler answers `101`, the server
//!   writes the head (with `Connection: upgrade`), ends its keep-alive loop and resolves the
//!   `OnUpgrade` to an [`Upgraded`] that owns the socket and any bytes the client sent past
//!   the request head. Any other answer resolves it to an error, and the connection goes on
//!   as usual. The connection keeps its place in the core's connection count until the
//!   `Upgraded` is dropped, and graceful shutdown ends its reads with an error. A `101` to
//!   a request without that extension is a handler bug and is answered `500`; over TLS,
//!   where upgrades are not offered, `501`.
//! - **Client**: a [`Client`](crate::client::Client) request with `Connection: upgrade`
//!   and `Upgrade` that gets a `101` from a plain-TCP upstream returns a response whose
//!   [`on`] resolves to the connection (never pooled) as an [`Upgraded`].
//!
//! `OnUpgrade` is `Send + Sync` because request extensions must be; the `Upgraded` it
//! resolves to is `!Send` and is reachable only on the core that served the request.
//!
//! ```no_run
//! use coreline_http::{upgrade, Body};
//! use http::{Request, Response, StatusCode};
//!
//! fn handle(mut req: Request<Body>) -> Response<Body> {
//!     let on_upgrade = upgrade::on(&mut req);
//!     coreline_runtime::spawn_local(async move {
//!         let Ok(mut io) = on_upgrade.await else { return };
//!         while let Ok(Some(bytes)) = io.read().await {
//!             if io.write_all(bytes).await.is_err() {
//!                 break;
//!             }
//!         }
//!     });
//!     let mut res = Response::new(Body::empty());
//!     *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
//!     res.headers_mut().insert(http::header::UPGRADE, "echo".parse().unwrap());
//!     res
//! }
//! ```

mod slots;
mod upgraded;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{self, HeaderMap};

pub(crate) use slots::{fulfil, pending, ready, refuse};
pub(crate) use upgraded::Owner;
pub use upgraded::Upgraded;

/// Resolves to the [`Upgraded`] connection once the `101` is through, or to an error if
/// the connection was not upgraded. Clones share one connection: the first to resolve
/// takes it.
#[derive(Clone, Debug)]
pub struct OnUpgrade {
    token: Option<Arc<slots::Token>>,
}

impl OnUpgrade {
    /// An `OnUpgrade` that fails at once: the message could not be upgraded.
    fn none() -> Self {
        OnUpgrade { token: None }
    }
}

/// Takes the [`OnUpgrade`] of a request or response (`http::Request`,
/// `http::Response`, or their extensions). Without one, the returned future fails at once.
pub fn on<T: sealed::HasExtensions>(mut message: T) -> OnUpgrade {
    message
        .extensions_mut()
        .remove::<OnUpgrade>()
        .unwrap_or_else(OnUpgrade::none)
}

impl Future for OnUpgrade {
    type Output = io::Result<Upgraded>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &self.token {
            Some(token) => token.poll(cx),
            None => Poll::Ready(Err(not_upgraded())),
        }
    }
}

fn not_upgraded() -> io::Error {
    io::Error::other("the connection was not upgraded")
}

/// Whether `headers` ask for an upgrade: an `Upgrade` field and the `upgrade` token in
/// `Connection`.
pub(crate) fn is_requested(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers.get_all(header::CONNECTION).iter().any(|v| {
            v.as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
        })
}

mod sealed {
    /// Messages that carry extensions.
    pub trait HasExtensions {
        fn extensions_mut(&mut self) -> &mut http::Extensions;
    }

    impl<B> HasExtensions for &mut http::Request<B> {
        fn extensions_mut(&mut self) -> &mut http::Extensions {
            http::Request::extensions_mut(self)
        }
    }

    impl<B> HasExtensions for &mut http::Response<B> {
        fn extensions_mut(&mut self) -> &mut http::Extensions {
            http::Response::extensions_mut(self)
        }
    }

    impl HasExtensions for &mut http::Extensions {
        fn extensions_mut(&mut self) -> &mut http::Extensions {
            self
        }
    }
}
