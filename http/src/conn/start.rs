//! The synchronous start of a request, between its parse and its handler: whether the
//! handler has a fixed response for it, whether the connection stays open after it, and
//! the limits, body and upgrade set-up before the handler is called.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use http::{Method, Request, StatusCode};

use super::io::ConnIo;
use super::request::{self, Answer};
use crate::body::Incoming;
use crate::parse::{HeadError, RequestFraming};
use crate::{pool, Body, Handler};

/// The handler's fixed response for `method` and `path`, if it has one.
pub(super) fn ask_fixed<'h, H: Handler>(handler: &'h H, method: &Method, path: &str) -> Answer<'h> {
    match catch_unwind(AssertUnwindSafe(|| handler.fixed_response(method, path))) {
        Ok(Some(fixed)) => Answer::Fixed(fixed),
        Ok(None) => Answer::Call,
        Err(_) => Answer::Panicked,
    }
}

/// Whether the connection may stay open after the `served`th request: the client wants
/// it, shutdown has not begun, and the per-connection request limit is not reached.
pub(super) fn keeps(io: &ConnIo, head: &request::Head, served: u64) -> bool {
    let max = io.registry.config.limits.max_requests_per_connection;
    head.keep_alive && !io.registry.is_draining() && (max == 0 || served < max)
}

/// The synchronous start of a request: limits, body set-up, the handler's future
/// (`None` if the answer is a fixed response, or if asking or calling the handler
/// panicked), and whether to keep the connection. The request (in `slot`, as
/// `take_request` built it) is consumed here, so the task never stores it across an
/// await.
pub(super) fn start<H: Handler>(
    io: &Rc<ConnIo>,
    handler: &H,
    head: &request::Head,
    answer: &Answer<'_>,
    slot: &mut Option<Request<Body>>,
    served: u64,
) -> Result<(Option<H::Future>, bool), HeadError> {
    let Some(req) = slot.as_mut() else {
        unreachable!("take_request built the request")
    };
    io.access_begin(req);
    let limits = &io.registry.config.limits;
    if let RequestFraming::Length(n) = head.framing {
        if n > limits.max_body {
            if let Some(req) = slot.take() {
                pool::recycle(req);
            }
            return Err(
                HeadError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large").of_body(),
            );
        }
    }
    io.reset_send_rate();
    let seq = io.begin_body(head.framing, head.expect);
    if !io.body_done() {
        *req.body_mut() = Body::incoming(Incoming::new(io.clone(), seq));
    }
    io.offer_upgrade(head, req);
    let keep = keeps(io, head, served);
    if !matches!(answer, Answer::Call) {
        // A fixed response or a panic: the handler is not called.
        if let Some(req) = slot.take() {
            pool::recycle(req);
        }
        return Ok((None, keep));
    }
    // The closure borrows the slot: capturing the request itself would copy it into the
    // closure and out again.
    let fut = catch_unwind(AssertUnwindSafe(|| {
        slot.take().map(|req| handler.call(req))
    }))
    .ok()
    .flatten();
    Ok((fut, keep))
}
