//! One core's TLS handshakes in progress: counted from accept (against the connection limit,
//! like registered connections) and capped ([`Limits::max_handshakes_per_core`]).
//!
//! A handshake holds an fd, a task and a rustls session until it completes or times out, and
//! a client that connects and sends nothing costs nothing to make. Without a cap, silent
//! connects pile up until the process runs out of fds, and then the plain listener stops
//! accepting too. Over the cap the **oldest** pending handshake is closed to make room: a
//! real client finishes its handshake within a round trip or two, so the one that has waited
//! longest is the likeliest to be stalling, and a fresh client still gets through while
//! silent connects hold every slot. A real handshake is only closed this way if the cap's
//! worth of new connections arrive during it, a rate past what a core can handshake anyway.
//!
//! [`Limits::max_handshakes_per_core`]: crate::Limits::max_handshakes_per_core

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::registry::ConnRegistry;
use crate::metrics::Refusal;

/// The pending handshakes of one core, oldest first.
#[derive(Default)]
pub(crate) struct Handshakes {
    pending: RefCell<VecDeque<Rc<Pending>>>,
}

/// One handshake in progress.
#[derive(Default)]
struct Pending {
    /// Closed to make room, or by graceful shutdown.
    evicted: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Pending {
    fn evict(&self) {
        self.evicted.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl Handshakes {
    /// Handshakes in progress.
    pub(crate) fn len(&self) -> usize {
        self.pending.borrow().len()
    }

    /// Closes every pending handshake (graceful shutdown: nobody waits for a silent client).
    pub(crate) fn evict_all(&self) {
        let all = std::mem::take(&mut *self.pending.borrow_mut());
        for p in all {
            p.evict();
        }
    }
}

/// A connection's place among its core's pending handshakes; dropping it (the handshake
/// ended, whichever way) gives the place back.
pub(crate) struct HandshakeSlot {
    registry: Rc<ConnRegistry>,
    pending: Rc<Pending>,
}

impl HandshakeSlot {
    /// Takes a place for a new handshake, closing the oldest pending one if `max` are in
    /// progress already (`max` 0: no cap).
    pub(crate) fn take(registry: &Rc<ConnRegistry>, max: usize) -> HandshakeSlot {
        let pending = Rc::new(Pending::default());
        let mut queue = registry.handshakes.pending.borrow_mut();
        if max > 0 {
            while queue.len() >= max {
                if let Some(oldest) = queue.pop_front() {
                    oldest.evict();
                }
            }
        }
        queue.push_back(pending.clone());
        drop(queue);
        HandshakeSlot {
            registry: registry.clone(),
            pending,
        }
    }

    /// The core's registry.
    pub(crate) fn registry(&self) -> Rc<ConnRegistry> {
        self.registry.clone()
    }

    /// Counts a handshake that did not complete (`None`: evicted) among the core's
    /// refusals; evictions by graceful shutdown are not refusals.
    pub(crate) fn count_failure(&self, outcome: Option<std::io::Result<()>>) {
        let Some(m) = self.registry.metrics.as_deref() else {
            return;
        };
        let reason = match outcome {
            Some(Ok(())) => return,
            Some(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                Refusal::TlsHandshakeTimeout
            }
            Some(Err(_)) => Refusal::TlsHandshakeError,
            None if self.registry.is_draining() || self.registry.is_stopping() => return,
            None => Refusal::TlsHandshakeEvicted,
        };
        m.refused(reason);
    }

    /// Runs `handshake` until it ends or this slot is evicted (then `None`: the handshake
    /// future is dropped, which closes the socket).
    pub(crate) async fn run<F: Future>(&self, handshake: F) -> Option<F::Output> {
        let mut handshake = pin!(handshake);
        poll_fn(|cx| {
            if self.pending.evicted.get() {
                return Poll::Ready(None);
            }
            match handshake.as_mut().poll(cx) {
                Poll::Ready(out) => Poll::Ready(Some(out)),
                Poll::Pending => {
                    self.pending.waker.set(Some(cx.waker().clone()));
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        if !self.pending.evicted.get() {
            let mut queue = self.registry.handshakes.pending.borrow_mut();
            if let Some(i) = queue.iter().position(|p| Rc::ptr_eq(p, &self.pending)) {
                queue.remove(i);
            }
        }
        self.registry.connection_ended();
    }
}
