//! The [`Handler`] trait: what a server calls for every request.

use std::future::Future;

use http::{Request, Response};

use crate::Body;

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
