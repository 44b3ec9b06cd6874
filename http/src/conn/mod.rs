//! The connection loop: read, parse every complete request, answer each in order into one
//! output buffer, flush the batch with one send, wait for more.
//!
//! While a connection waits for the next request it holds no receive buffer (multishot
//! recv on the core's provided-buffer ring) and, once its input is consumed, its input and
//! output buffers go back to the core's pools. Errors from the parser are answered with
//! their status and `Connection: close`, followed by a lingering close: half-close, then
//! read and discard for a short while, so the client reads the response instead of a
//! reset.

mod body;
mod finish;
mod io;
mod request;
mod response;
mod splice;

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use coreline_runtime::net::TcpStream;
use http::{Request, StatusCode};

pub(crate) use self::io::ConnIo;
use self::io::Recv;
use self::response::{After, Shape};
use crate::body::Incoming;
use crate::parse::{Framing, HeadError};
use crate::server::core::CoreShared;
use crate::{clock, date, metrics, pool, Body, Handler};

/// Flush a batch early once this much output is queued.
const BATCH_FLUSH: usize = 64 * 1024;

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Close now (nothing is unread, or the connection is broken).
    Close,
    /// Half-close and drain briefly first (unread input, or after an error response).
    Linger,
}

/// The connection as its task holds it: the shared state and the handler. Dropping it
/// (however the task ends) removes the connection from the core's registry.
struct Conn<H> {
    io: Rc<ConnIo>,
    handler: Rc<H>,
}

impl<H> Drop for Conn<H> {
    fn drop(&mut self) {
        self.io.core.deregister(self.io.key.get());
    }
}

/// Serves one accepted connection until it closes.
///
/// A note on size: this future is the connection's task, allocated once per connection
/// and as large as its largest state, idle or not. So the loop lives in this one async
/// block (each nested async fn would store its arguments again), big values (requests,
/// responses, parse results, copies of the config) are never held across an await, and
/// the rare paths (errors, lingering close, unread bodies, large and streamed bodies) are
/// boxed. That keeps an idle keep-alive connection under 1 KiB in all (tests/idle.rs).
pub(crate) fn serve<H: Handler>(
    stream: TcpStream,
    core: Rc<CoreShared>,
    handler: Rc<H>,
) -> impl Future<Output = ()> {
    let io = ConnIo::new(stream, core.clone());
    io.key.set(core.register(io.clone()));
    metrics::accepted(&io);
    let conn = Conn { io, handler };
    async move {
        let io = &conn.io;
        if run(&conn).await == End::Linger {
            Box::pin(finish::linger(io)).await;
        }
        io.end_body();
        io.inbuf.borrow_mut().clear();
        io.out.borrow_mut().clear();
        io.release_buffers();
    }
}

async fn run<H: Handler>(conn: &Conn<H>) -> End {
    // (One reference argument: every argument of an async fn is stored in its future.)
    let (io, handler) = (&conn.io, &*conn.handler);
    let mut served = 0u64;
    // Deadline of the current wait for a request head, and whether it is the idle one.
    let mut wait: Option<(u64, bool)> = Some((
        clock::deadline_after(io.core.config.timeouts.header_read),
        true,
    ));
    loop {
        date::refresh();
        // Assigned when the loop ends, so it takes no room during the awaits inside.
        let refused: Option<HeadError> = loop {
            // A block, so that its locals (head, the handler's future, the response) are
            // dead, and take no room, at the awaits after it.
            let step = {
                // Matched as a temporary (no binding): the parse result takes no room in
                // the task across the awaits below.
                let (head, req) =
                    match request::take_request(&mut io.inbuf.borrow_mut(), &io.core.config.limits)
                    {
                        Ok(Some(r)) => r,
                        Ok(None) => break None,
                        Err(e) => break Some(e),
                    };
                served += 1;
                wait = None;
                let (fut, keep) = match start(io, handler, &head, req, served) {
                    Ok(started) => started,
                    Err(e) => break Some(e),
                };
                // The handler may wait for body bytes: let earlier pipelined responses go
                // first.
                if !io.body_fully_buffered() {
                    if Box::pin(io.flush()).await.is_err() {
                        return End::Close;
                    }
                    metrics::flushed(io);
                }
                metrics::started(io);
                io.clear_deadline();
                let mut fut = pin!(fut);
                let mut waited = false;
                let res = poll_fn(|cx| match fut.as_mut().as_pin_mut() {
                    None => Poll::Ready(None), // calling the handler panicked
                    Some(f) => match catch_unwind(AssertUnwindSafe(|| f.poll(cx))) {
                        Ok(Poll::Ready(res)) => Poll::Ready(Some(res)),
                        Ok(Poll::Pending) => {
                            waited = true;
                            Poll::Pending
                        }
                        Err(_) => Poll::Ready(None),
                    },
                })
                .await;
                if waited {
                    date::refresh(); // the handler took a while: the cached second may be old
                }
                let shape = Shape {
                    version: head.version,
                    is_head: head.is_head,
                    keep_alive: keep && res.is_some(),
                };
                finish::respond(io, res, shape)
            };
            // Only a boxed future (two words) is held across this await.
            let next = match step {
                Ok(after) => Ok(after),
                Err(later) => {
                    let next = later.await;
                    metrics::flushed(io); // (if it sent everything)
                    next
                }
            };
            match next {
                Ok(After::KeepAlive) => {}
                Ok(After::Close) => return finish::closing(io).await,
                Err(end) => return end,
            }
            let large = io.out.borrow().len() >= BATCH_FLUSH; // (no borrow across the await)
            if large {
                if io.flush().await.is_err() {
                    return End::Close;
                }
                metrics::flushed(io);
            }
        };
        if let Some(e) = refused {
            return finish::fail(io, e).await;
        }
        if io.flush().await.is_err() {
            return End::Close;
        }
        metrics::flushed(io);
        let idle = io.inbuf_is_empty();
        if idle {
            io.release_buffers();
            if io.core.is_draining() {
                return End::Close;
            }
        }
        // One deadline per phase: waiting idle (keep-alive, or header timeout before the
        // first request) or inside a head (header timeout from its first byte).
        let deadline = match wait {
            Some((at, was_idle)) if was_idle == idle => at,
            _ => {
                let timeouts = &io.core.config.timeouts;
                let t = if idle && served > 0 {
                    timeouts.keep_alive
                } else {
                    timeouts.header_read
                };
                let at = clock::deadline_after(t);
                wait = Some((at, idle));
                at
            }
        };
        io.set_deadline_at(deadline);
        match io.recv(idle).await {
            Recv::Data(buf) => {
                metrics::received(io);
                io.append(&buf);
            }
            Recv::Eof | Recv::Draining | Recv::Failed(_) => return End::Close,
            Recv::TimedOut if idle => return End::Close,
            Recv::TimedOut => {
                let e = HeadError {
                    status: StatusCode::REQUEST_TIMEOUT,
                    reason: "request head not received in time",
                };
                return finish::fail(io, e).await;
            }
        }
    }
}

/// The synchronous start of a request: limits, body set-up, the handler's future
/// (`None` if calling the handler panicked), and whether to keep the connection. The
/// request is consumed here, so the task never stores it across an await.
fn start<H: Handler>(
    io: &Rc<ConnIo>,
    handler: &H,
    head: &request::Head,
    req: Request<()>,
    served: u64,
) -> Result<(Option<H::Future>, bool), HeadError> {
    let limits = &io.core.config.limits;
    if let Framing::Length(n) = head.framing {
        if n > limits.max_body {
            pool::recycle(req.map(|()| Body::empty()));
            return Err(HeadError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                reason: "request body too large",
            });
        }
    }
    let seq = io.begin_body(head.framing, head.expect);
    let body = if io.body_done() {
        Body::empty()
    } else {
        Body::incoming(Incoming::new(io.clone(), seq))
    };
    let req = req.map(|()| body);
    let max = limits.max_requests_per_connection;
    let keep = head.keep_alive && !io.core.is_draining() && (max == 0 || served < max);
    let fut = catch_unwind(AssertUnwindSafe(|| handler.call(req))).ok();
    Ok((fut, keep))
}
