//! The [`Handler`] trait: what a server calls for every request.

use std::future::Future;

use http::{Method, Request, Response};

use crate::{Body, FixedResponse};

/// An async function from request to response. Implemented for every
/// `Fn(Request<Body>) -> impl Future<Output = Response<Body>>`.
///
/// Each core builds its own handler from the server's factory, so handlers (and their
/// futures) need not be `Send`: an `Rc<RefCell<_>>` inside is fine. A handler that panics
/// gets its client a 500 and the connection closed; the core keeps serving.
///
/// The handler future is stored inline in the connection's task, so keep the common path
/// small; box rarely taken, large branches (`Box::pin(async { .. })`) to keep the memory
/// of every (idle) connection low.
pub trait Handler: 'static {
    /// The future of one call.
    type Future: Future<Output = Response<Body>> + 'static;

    /// Handles one request.
    fn call(&self, request: Request<Body>) -> Self::Future;

    /// The response for every request with this method and path (the target before any
    /// `?`), if it is fixed in advance; `None` (the default) has [`call`](Self::call)
    /// answer them.
    ///
    /// Asked right after a head is parsed, before the `http::Request` is built. For a
    /// request without a body or `Upgrade` field (and while the access log is off) the
    /// server then sends the [`FixedResponse`] straight from the parsed head, which skips
    /// building the request and encoding a response: about half of a small request's
    /// userspace work. Any other request for it is built as usual and answered with
    /// [`FixedResponse::to_response`], never passed to `call`. Keep this cheap (a match on
    /// the path): it runs for every request. A panic here is a panic of the handler.
    fn fixed_response(&self, method: &Method, path: &str) -> Option<&FixedResponse> {
        let _ = (method, path);
        None
    }
}

impl<F, Fut> Handler for F
where
    F: Fn(Request<Body>) -> Fut + 'static,
    Fut: Future<Output = Response<Body>> + 'static,
{
    type Future = Fut;

    fn call(&self, request: Request<Body>) -> Fut {
        self(request)
    }
}
