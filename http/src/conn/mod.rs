//! The connection loop: read, parse every complete request, answer each in order into one
//! output buffer, flush the batch with one send, wait for more.
//!
//! While a connection waits for the next request it holds no receive buffer (multishot
//! recv on the core's provided-buffer ring) and, once its input is consumed, its input and
//! output buffers go back to the core's pools. Errors from the parser are answered with
//! their status and `Connection: close`, followed by a lingering close: half-close, then
//! read and discard for a short while, so the client reads the response instead of a
//! reset.

mod access;
mod body;
mod body_read;
mod early_send;
mod finish;
mod fixed_answer;
mod handshake;
mod head_start;
pub(crate) mod header_names;
mod io;
mod rate;
mod registry;
mod request;
mod response;
mod send;
mod splice;
mod splice_socket;
mod stamps;
mod start;
mod target_cache;
mod transport;
mod upgrade;

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use coreline_runtime::net::TcpStream;
use coreline_tls::TlsAcceptor;
use http::StatusCode;

use self::finish::End;
pub(crate) use self::handshake::HandshakeSlot;
use self::io::{ConnIo, Recv};
pub(crate) use self::registry::{begin_drain_current, current, ConnRegistry};
use self::request::Answer;
use self::response::{After, Shape};
use self::start::{ask_fixed, keeps, start};
use self::transport::Transport;
use crate::parse::HeadError;
use crate::{clock, date, Handler};

/// Flush a batch early once this much output is queued.
const BATCH_FLUSH: usize = 64 * 1024;

/// The connection as its task holds it: the shared state and the handler. Dropping it
/// (however the task ends) removes the connection from the core's registry.
struct Conn<H> {
    io: Rc<ConnIo>,
    handler: Rc<H>,
}

impl<H> Drop for Conn<H> {
    fn drop(&mut self) {
        if self.io.is_handed_over() {
            return; // (the upgraded connection deregisters when it is dropped)
        }
        self.io.registry.deregister(self.io.key.get());
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
    registry: Rc<ConnRegistry>,
    handler: Rc<H>,
) -> impl Future<Output = ()> {
    serve_on(Transport::plain(stream), registry, handler)
}

/// Serves one accepted connection over TLS: the handshake runs here, in the
/// connection's own task and bounded by the acceptor's handshake timeout, so the accept
/// loop never waits on a client. A failed or timed-out handshake just closes the socket
/// (rustls has sent its alert). Until the handshake is done the connection holds `slot`
/// (counted against the core's connection limit and its handshake cap, closed if evicted
/// or at shutdown); then it joins the core's registry (its timeouts, graceful shutdown).
pub(crate) fn serve_tls<H: Handler>(
    tcp: TcpStream,
    acceptor: Rc<TlsAcceptor>,
    slot: HandshakeSlot,
    handler: Rc<H>,
) -> impl Future<Output = ()> {
    // Boxed: the handshake's state (rustls' connection among it, the socket, the slot) is
    // freed when the handshake ends instead of taking room in the task for the
    // connection's whole life. The task keeps only the box and the handler besides the
    // serving future.
    let handshake = Box::pin(tls_handshake(tcp, acceptor, slot));
    async move {
        if let Some((transport, registry)) = handshake.await {
            // (If shutdown began meanwhile, the loop sees it at once and closes with
            // close_notify.)
            serve_on(transport, registry, handler).await
        }
    }
}

/// The handshake of [`serve_tls`]: the transport (the TLS stream boxed in it) and the
/// core's registry once the handshake is done, or `None` after a failure (counted) or an
/// eviction. The slot is given back on the way out, and `serve_on` registers the
/// connection synchronously after, so the connection count stays right.
async fn tls_handshake(
    tcp: TcpStream,
    acceptor: Rc<TlsAcceptor>,
    slot: HandshakeSlot,
) -> Option<(Transport, Rc<ConnRegistry>)> {
    match slot.run(acceptor.accept(tcp)).await {
        Some(Ok(tls)) => Some((Transport::tls(tls), slot.registry())),
        failed => {
            slot.count_failure(failed.map(|r| r.map(drop)));
            None
        }
    }
}

fn serve_on<H: Handler>(
    transport: Transport,
    registry: Rc<ConnRegistry>,
    handler: Rc<H>,
) -> impl Future<Output = ()> {
    let io = ConnIo::new(transport, registry.clone());
    io.key.set(registry.register(io.clone()));
    io.stamp_accepted();
    let conn = Conn { io, handler };
    async move {
        let io = &conn.io;
        match run(&conn).await {
            End::Linger => Box::pin(finish::linger(io)).await,
            // A graceful TLS close says so (close_notify), so the client can tell it from
            // a truncation; best effort, bounded by the write timeout.
            End::Close if io.is_tls() => drop(Box::pin(io.shutdown_write()).await),
            End::Close => {}
            End::Upgrade(id) => upgrade::hand_over(io, id),
        }
        io.refuse_upgrade();
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
        clock::deadline_after(io.registry.config.timeouts.header_read),
        true,
    ));
    loop {
        date::refresh();
        // Assigned when the loop ends, so it takes no room during the awaits inside.
        let refused: Option<HeadError> = 'requests: loop {
            // A block, so that its locals (head, the handler's future, the response) are
            // dead, and take no room, at the awaits after it.
            let step = 'step: {
                // The request is built in this slot and moved once, into the handler; the
                // slot's block ends before the awaits below, so it takes no room in the task.
                let (head, fut, keep) = {
                    let mut req = None;
                    let (head, answer) = match request::take_request(
                        &mut io.inbuf.borrow_mut(),
                        &io.registry.config.limits,
                        io.conn_info(),
                        &mut req,
                        io.registry.access_log.is_none(),
                        |method, path| ask_fixed(handler, method, path),
                    ) {
                        Ok(Some(taken)) => taken,
                        Ok(None) => break 'requests None,
                        Err(e) => break 'requests Some(e),
                    };
                    served += 1;
                    wait = None;
                    if let (None, Answer::Fixed(fixed)) = (&req, &answer) {
                        // Not built: the fixed answer needs nothing but the head.
                        let keep = keeps(io, &head, served);
                        break 'step Ok(io.answer_fixed(fixed, &head, keep));
                    }
                    let (fut, keep) = match start(io, handler, &head, &answer, &mut req, served) {
                        Ok(started) => started,
                        Err(e) => break 'requests Some(e),
                    };
                    if let Answer::Fixed(fixed) = answer {
                        // Built (see `take_request`), answered at once: the handler is not
                        // called, so there is nothing to wait for before the response, and
                        // nothing of it is held across an await (no room in the task).
                        io.stamp_started();
                        io.clear_deadline();
                        let shape = Shape {
                            version: head.version,
                            is_head: head.is_head,
                            keep_alive: keep,
                        };
                        break 'step finish::respond(io, &mut Some(fixed.to_response()), shape);
                    }
                    (head, fut, keep)
                };
                // The handler may wait for body bytes: let earlier pipelined responses go
                // first.
                if !io.body_fully_buffered() && Box::pin(io.flush()).await.is_err() {
                    return End::Close;
                }
                io.stamp_started();
                io.clear_deadline();
                let mut fut = pin!(fut);
                let mut waited = false;
                // The response is handled where the handler's poll returns it: moved out
                // through the await instead, it would be copied several times.
                poll_fn(|cx| {
                    // Stays `None` if calling or polling the handler panicked. Written
                    // inside the unwind guard: returned through it, the response would be
                    // copied twice more.
                    let mut res = None;
                    if let Some(f) = fut.as_mut().as_pin_mut() {
                        let polled = catch_unwind(AssertUnwindSafe(|| match f.poll(cx) {
                            Poll::Ready(r) => {
                                res = Some(r);
                                true
                            }
                            Poll::Pending => false,
                        }));
                        if let Ok(false) = polled {
                            waited = true;
                            return Poll::Pending;
                        }
                    }
                    if waited {
                        date::refresh(); // the handler took a while: the cached second may be old
                    }
                    let shape = Shape {
                        version: head.version,
                        is_head: head.is_head,
                        keep_alive: keep && res.is_some(),
                    };
                    Poll::Ready(finish::respond(io, &mut res, shape))
                })
                .await
            };
            // Only a boxed future (two words) is held across this await.
            let next = match step {
                Ok(after) => Ok(after),
                Err(later) => {
                    let next = later.await;
                    io.stamp_flushed(); // (if it sent everything)
                    next
                }
            };
            match next {
                Ok(After::KeepAlive) => {}
                Ok(After::Close) => return finish::closing(io).await,
                Ok(After::Upgrade(id)) => return finish::upgrading(io, id).await,
                Err(end) => return end,
            }
            let large = io.out.borrow().len() >= BATCH_FLUSH; // (no borrow across the await)
            if large && io.flush().await.is_err() {
                return End::Close;
            }
        };
        if let Some(e) = refused {
            return finish::fail(io, e).await;
        }
        // Started, not awaited: the core's settler, or the wait below, settles it
        // (see `early_send.rs`).
        if !io.start_flush() && io.flush().await.is_err() {
            return End::Close;
        }
        let idle = io.inbuf_is_empty();
        if idle {
            io.release_buffers();
        }
        // One deadline per phase: waiting idle (keep-alive) or inside a head (header
        // timeout from its first byte); before the first request, one header timeout from
        // accept covers both, so a first byte sent late does not restart it.
        let deadline = match wait {
            Some((at, was_idle)) if was_idle == idle || served == 0 => at,
            _ => {
                let timeouts = &io.registry.config.timeouts;
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
        // Draining: an idle connection waits only briefly, so that a request already on its
        // way is answered (with `Connection: close`) instead of crossing our close and
        // being lost.
        let draining = io.registry.is_draining();
        if draining && idle {
            io.set_deadline_at(deadline.min(io.registry.drain_idle_deadline()));
        } else {
            io.set_deadline_at(deadline);
        }
        match io.recv_settling(idle && !draining).await {
            Recv::Data => {}     // (stamped by the read itself, see stamps.rs)
            Recv::Draining => {} // draining began: wait again, with its short deadline
            Recv::Eof | Recv::Failed(_) => return End::Close,
            // Idle at shutdown: half-close and read until the client closes, so that a
            // request crossing our close meets a clean EOF, not a reset.
            Recv::TimedOut if idle && io.registry.is_draining() => return End::Linger,
            Recv::TimedOut if idle => return End::Close,
            Recv::TimedOut => {
                let e = HeadError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request head not received in time",
                );
                return finish::fail(io, e).await;
            }
        }
    }
}
