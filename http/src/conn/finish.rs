//! After the handler: turning its response (or a failure) into bytes, discarding an
//! unread body, error responses, and the ways a connection closes.
//!
//! The common case is synchronous ([`respond`] encodes the head and a small body into the
//! output buffer); everything that must await is in [`complete`], which the connection
//! loop boxes, so none of it takes room in an idle connection's task.

use std::future::Future;
use std::pin::Pin;

use http::{Response, StatusCode};

use super::io::{ConnIo, Recv};
use super::response::{self, After, Shape};
use crate::body::Body;
use crate::encode::ResponseFraming;
use crate::metrics::{Refusal, ResponseKind};
use crate::parse::HeadError;
use crate::{date, encode, pool};

/// Discard at most this much during a lingering close.
const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Close now (nothing is unread, or the connection is broken).
    Close,
    /// Half-close and drain briefly first (unread input, or after an error response).
    Linger,
    /// The `101` is sent: hand the connection over to upgrade offer `id`.
    Upgrade(u64),
}

/// The rest of a response that needs awaiting (boxed: see the module docs).
pub(super) type Later<'a> = Pin<Box<dyn Future<Output = Result<After, End>> + 'a>>;

/// What is left to do after the handler.
enum Next {
    /// The response is queued in the output buffer.
    Sent(After),
    /// Reading the body failed: answer with this error instead.
    Fail(HeadError),
    /// The handler left body unread: discard it (or give up), then send the response.
    Discard(Response<Body>, Shape),
    /// The head is queued; this body follows.
    Body(Body, ResponseFraming, After),
}

/// Handles the handler's response (`None`: it panicked): `Ok` if it is queued in the
/// output buffer already, else the boxed rest of the work.
///
/// The response is borrowed where the connection loop received it, and its parts go back
/// to the pool from there: each move of a response is a `memcpy` call.
pub(super) fn respond<'a>(
    io: &'a ConnIo,
    res: &mut Option<Response<Body>>,
    shape: Shape,
) -> Result<After, Later<'a>> {
    match next_step(io, res, shape) {
        Next::Sent(after) => Ok(after),
        next => Err(Box::pin(complete(io, next))),
    }
}

fn next_step(io: &ConnIo, slot: &mut Option<Response<Body>>, mut shape: Shape) -> Next {
    let res = slot
        .get_or_insert_with(|| pool::response(StatusCode::INTERNAL_SERVER_ERROR, Body::empty()));
    if let Some(e) = io.body_error() {
        pool::put_map(std::mem::take(res.headers_mut()));
        return Next::Fail(e);
    }
    // Shutdown may have begun while the handler ran.
    shape.keep_alive &= !io.registry.is_draining();
    // Unread body left, unless the response streams it back (then it is read as sent).
    let reads_this = res.body().is_incoming_of(io.source_id());
    let streams_back = reads_this && !shape.is_head && encode::allows_body(res.status());
    if reads_this && !streams_back {
        // Keep its length for the head (HEAD gets the GET headers), drop the reader.
        res.body_mut().omit();
    }
    if !io.body_done() && !streams_back {
        let res = slot.take().expect("set above");
        return Next::Discard(res, shape);
    }
    encode(io, slot, shape)
}

/// Encodes the response in `slot` (which is `Some`), then keeps its parts in the pool.
fn encode(io: &ConnIo, slot: &mut Option<Response<Body>>, shape: Shape) -> Next {
    let Some(res) = slot.as_mut() else {
        unreachable!("encode is given a response")
    };
    let encoded = response::encode(io, res, shape);
    if let Some(res) = slot.take() {
        pool::put_response_parts(res.into_parts().0);
    }
    match encoded {
        (after, None) => {
            io.end_body();
            io.access_end();
            Next::Sent(after)
        }
        (after, Some((body, framing))) => Next::Body(body, framing, after),
    }
}

/// Does what [`respond`] left to do.
async fn complete(io: &ConnIo, mut next: Next) -> Result<After, End> {
    loop {
        next = match next {
            Next::Sent(after) => return Ok(after),
            Next::Fail(e) => return Err(fail(io, e).await),
            Next::Discard(res, mut shape) => {
                // The handler answered without reading all of the body. If the client
                // still waits for 100 Continue it never sent the body: don't invite it.
                let discarded = !io.continue_pending()
                    && io.discard_body(io.registry.config.limits.max_discard).await;
                if let Some(e) = io.body_error() {
                    pool::put_map(res.into_parts().0.headers);
                    return Err(fail(io, e).await);
                }
                shape.keep_alive &= discarded;
                encode(io, &mut Some(res), shape)
            }
            Next::Body(body, framing, after) => {
                let failed = response::write_body(io, body, framing).await.is_err()
                    || io.body_error().is_some();
                io.access_end();
                if failed {
                    // The framing is broken (or a streamed-back request body failed).
                    return Err(End::Close);
                }
                io.end_body();
                Next::Sent(after)
            }
        }
    }
}

/// Answers with an error status and `Connection: close`.
pub(super) async fn fail(io: &ConnIo, e: HeadError) -> End {
    queue_error(io, e);
    match Box::pin(io.flush()).await {
        Ok(()) => End::Linger,
        Err(_) => End::Close,
    }
}

/// Queues an error response (the connection will close after it).
fn queue_error(io: &ConnIo, e: HeadError) {
    io.refuse_upgrade();
    if let Some(m) = io.registry.metrics.as_deref() {
        m.responded(e.status, ResponseKind::Error);
        m.refused(Refusal::of(&e));
    }
    io.end_body();
    io.access_refused(e.status, e.reason.len() as u64 + 1); // (the reason and a newline)
    date::refresh(); // (a timeout may have passed since the batch began)
    let date = date::current();
    let server = io.registry.config.server();
    io.with_out(|out| encode::error_response(out, e.status, server, e.reason, &date));
}

/// After a `101 Switching Protocols`: send it, then hand the connection over.
pub(super) async fn upgrading(io: &ConnIo, id: u64) -> End {
    match Box::pin(io.flush()).await {
        Ok(()) => End::Upgrade(id),
        Err(_) => {
            crate::upgrade::refuse(id);
            End::Close
        }
    }
}

/// After a `Connection: close` response: send it, then close (lingering if the client
/// sent more than we read).
pub(super) async fn closing(io: &ConnIo) -> End {
    if Box::pin(io.flush()).await.is_err() {
        return End::Close;
    }
    if io.inbuf_is_empty() && io.body_done() {
        End::Close
    } else {
        End::Linger
    }
}

/// Lingering close: half-close (over TLS, after `close_notify`), then read and discard
/// until the client closes, a short time passes, or too much arrives.
pub(super) async fn linger(io: &ConnIo) {
    io.end_body();
    io.inbuf.borrow_mut().clear();
    if io.shutdown_write().await.is_err() {
        return;
    }
    io.set_deadline(io.registry.config.timeouts.linger);
    let mut discarded = 0usize;
    while let Recv::Data = io.recv(false).await {
        let mut inbuf = io.inbuf.borrow_mut();
        discarded += inbuf.len();
        inbuf.clear();
        if discarded > LINGER_MAX_BYTES {
            return;
        }
    }
}
