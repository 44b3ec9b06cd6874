//! One listener's accept loop on one core: start a connection task per accepted socket
//! (plain or TLS, a TLS one holding a handshake slot from accept), refuse what is over the
//! per-core limit, hand a batch accepted while this core lags to a healthy core
//! (`steered` mode, see `handoff`), back off when accept fails, and
//! stop without losing a connection when the server drains.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use coreline_runtime::net::{SteerGroup, TcpListener, TcpStream};
use coreline_runtime::{spawn_local, time};
use coreline_tls::TlsAcceptor;
use http::StatusCode;

use super::handoff::BatchHandOff;
use super::refuse;
use crate::conn::{self, ConnRegistry, HandshakeSlot};
use crate::metrics::{ProbeGuard, Refusal, ResponseKind};
use crate::Handler;

/// One core's bound listener.
pub(crate) struct Listener {
    pub(crate) listener: TcpListener,
    /// This core's copy of the acceptor, for HTTPS.
    pub(crate) tls: Option<Rc<TlsAcceptor>>,
    /// With metrics on, the sampler's probe of the accept queue. It holds a duplicate of
    /// the socket, so it must go when the listener goes (or the socket keeps listening).
    pub(crate) _probe: Option<ProbeGuard>,
    /// In `steered` mode, the listener's group and this core's index in it: the loop
    /// leaves the group when it stops, before draining.
    pub(crate) group: Option<(Arc<SteerGroup>, usize)>,
}

/// Tells an accept loop to stop (and wakes it).
#[derive(Default)]
pub(crate) struct Stop {
    stopped: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Stop {
    pub(crate) fn stop(&self) {
        self.stopped.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// The task to wake on [`stop`](Self::stop).
    pub(crate) fn set_waker(&self, waker: &Waker) {
        self.waker.set(Some(waker.clone()));
    }
}

/// Accepts until `stop`; then drains: the connections the kernel had already accepted
/// for this socket are served too (their first response says `Connection: close`), and
/// only then is the socket closed. With `net.ipv4.tcp_migrate_req = 1` the kernel hands
/// what is still in its queue to another socket of the port (another core, or a new
/// process during a restart) instead of resetting it.
pub(crate) async fn accept_loop<H: Handler>(
    bound: Listener,
    stop: Rc<Stop>,
    core: Rc<ConnRegistry>,
    handler: Rc<H>,
) {
    let Listener {
        mut listener,
        tls,
        _probe,
        group,
    } = bound;
    let start = |stream| start_connection(stream, &tls, &core, &handler);
    let mut backoff = AcceptBackoff::default();
    // Steered: whether this batch of accepts goes to another core (decided when a batch
    // starts, i.e. after the loop had to wait for a connection).
    let mut batch: Option<BatchHandOff> = None;
    loop {
        let mut waited = false;
        let next = {
            let mut accept = pin!(listener.accept());
            poll_fn(|cx| {
                if stop.stopped.get() {
                    return Poll::Ready(None);
                }
                match accept.as_mut().poll(cx) {
                    Poll::Ready(r) => Poll::Ready(Some(r)),
                    Poll::Pending => {
                        waited = true;
                        stop.waker.set(Some(cx.waker().clone()));
                        Poll::Pending
                    }
                }
            })
            .await
        };
        match next {
            None => break,
            Some(Ok(stream)) => {
                backoff.recovered();
                let stream = match &group {
                    None => Some(stream),
                    Some((group, me)) => {
                        if waited {
                            batch = None; // a new batch: decide again
                        }
                        let decided = batch.get_or_insert_with(|| BatchHandOff::decide(&core));
                        decided.pass(group, *me, &core, stream)
                    }
                };
                if let Some(stream) = stream {
                    start(stream);
                }
            }
            // Out of fds or memory: pause accepting (the kernel's queue holds the clients)
            // while the connections already open are served and, closing, free fds.
            Some(Err(e)) => time::sleep(backoff.failed(&e)).await,
        }
    }
    // The group's duplicate of the socket goes first, or closing the listener would not
    // close the socket.
    if let Some((group, index)) = group {
        group.leave(index);
    }
    while let Some(stream) = listener.drain().await {
        start(stream);
    }
}

/// Serves an accepted connection on this core (or refuses it over the limit).
pub(super) fn start_connection<H: Handler>(
    stream: TcpStream,
    tls: &Option<Rc<TlsAcceptor>>,
    core: &Rc<ConnRegistry>,
    handler: &Rc<H>,
) {
    core.accepted_one();
    let limits = &core.config.limits;
    let max = limits.max_connections_per_core;
    let full = max > 0 && core.connections() >= max;
    let handler = handler.clone();
    if let (true, Some(m)) = (full, core.metrics.as_deref()) {
        m.refused(Refusal::ConnectionLimit);
        if tls.is_none() {
            m.responded(StatusCode::SERVICE_UNAVAILABLE, ResponseKind::Error);
        }
    }
    match tls {
        None if full => {
            let server = core.config.server_header.clone();
            drop(spawn_local(refuse::refuse(stream, server)))
        }
        None => drop(spawn_local(conn::serve(stream, core.clone(), handler))),
        // A TLS client could not read a plain 503: over the limit it is just closed.
        Some(_) if full => drop(stream),
        Some(acceptor) => {
            let slot = HandshakeSlot::take(core, limits.max_handshakes_per_core);
            let serve = conn::serve_tls(stream, acceptor.clone(), slot, handler);
            drop(spawn_local(serve));
        }
    }
}

/// The pause after a failed accept: 10 ms doubling to 1 s, as nginx pauses accepting for
/// 500 ms on EMFILE. One line is logged when accepting starts failing and one when it
/// works again, not one per retry.
#[derive(Default)]
struct AcceptBackoff {
    /// The current pause, zero while accepts succeed.
    pause: Duration,
    failures: u64,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn failed(&mut self, e: &io::Error) -> Duration {
        if self.failures == 0 {
            log::warn!("coreline: accept failed: {e}; pausing accepts until it works again");
        }
        self.failures += 1;
        self.pause = (self.pause * 2).clamp(Self::FIRST, Self::MAX);
        self.pause
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            log::warn!(
                "coreline: accepting again after {} failed attempt(s)",
                self.failures
            );
            *self = AcceptBackoff::default();
        }
    }
}
