//! `ConnIo`: the state of one connection shared by its task and its request bodies.
//!
//! It is reference-counted because a request [`Body`](crate::Body) handed to the handler
//! must be able to read from the connection. Nothing here is ever borrowed across an
//! `.await`: the stream is only borrowed inside `poll_read`, sends go through a cloned
//! `SharedFd` (or, over TLS, the stream moved out for the send: see `transport.rs`), and
//! the output buffer is moved out while the kernel owns it. So a handler that stashes a
//! body and reads it from another task gets an error, never a panic.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use coreline_runtime::SharedFd;

use super::access::Pending;
use super::body::BodyState;
use super::rate::RateClock;
use super::registry::ConnRegistry;
use super::stamps::ConnStamps;
use super::transport::Transport;
use crate::body::SourceId;
use crate::clock;
use crate::conn_info::ConnInfo;
use crate::metrics::CoreHttpMetrics;
use crate::pool;

/// No deadline.
const NEVER: u64 = u64::MAX;

/// What waiting for received data gave.
pub(crate) enum Recv {
    /// More bytes were appended to `inbuf`.
    Data,
    /// The peer closed cleanly (TCP FIN; over TLS, `close_notify`).
    Eof,
    TimedOut,
    /// Graceful shutdown began (only reported to waits that ask for it).
    Draining,
    Failed(io::Error),
}

/// One connection's I/O state.
pub(crate) struct ConnIo {
    /// The core's connections, this one among them.
    pub(crate) registry: Rc<ConnRegistry>,
    pub(super) transport: Transport,
    /// The socket (plain sends and splices go straight to it).
    pub(super) fd: SharedFd,
    /// Received bytes not yet consumed. Capacity 0 (no buffer) while idle.
    pub(crate) inbuf: RefCell<BytesMut>,
    /// Encoded responses not yet sent. Capacity 0 while idle.
    pub(crate) out: RefCell<Vec<u8>>,
    /// When the current wait expires (`clock::now_ms` units), or `NEVER`.
    deadline: Cell<u64>,
    timed_out: Cell<bool>,
    /// The task to wake on expiry or shutdown: whoever waited last.
    waker: Cell<Option<Waker>>,
    /// Number of the request being served (wrapping): bodies of older ones are stale.
    pub(crate) body_seq: Cell<u32>,
    /// The request body in progress, if any.
    pub(crate) body: RefCell<Option<Box<BodyState>>>,
    /// Key in the core's connection registry.
    pub(crate) key: Cell<u32>,
    /// Timestamps for the latency metrics (untouched when they are off).
    pub(crate) stamps: ConnStamps,
    /// Bytes sent and time waited for room, for the minimum send rate (per response).
    pub(super) send_rate: Cell<RateClock>,
    /// The connection's addresses and TLS facts, worked out at its first request.
    info: OnceCell<ConnInfo>,
    /// The request whose access-log line is pending (only with the access log on; a
    /// `Cell`, one word, as every connection carries it).
    pub(super) access: Cell<Option<Box<Pending>>>,
    /// The current request's upgrade offer: its slot number, 0 for none, or
    /// `upgrade::HANDED_OVER` once the socket went to an upgraded connection (which then
    /// holds the registry entry). One word: every connection carries it.
    pub(super) upgrade: Cell<u64>,
    /// The batch's send, started before the wait for the next request and settled when
    /// that wait ends (`early_send.rs`); boxed, and the box pooled, as every connection
    /// carries the field.
    pub(super) early_send: Cell<Option<Box<super::early_send::InFlight>>>,
}

impl ConnIo {
    pub(crate) fn new(transport: Transport, registry: Rc<ConnRegistry>) -> Rc<Self> {
        let fd = transport.shared_fd();
        Rc::new(ConnIo {
            registry,
            fd,
            transport,
            inbuf: RefCell::new(BytesMut::new()),
            out: RefCell::new(Vec::new()),
            deadline: Cell::new(NEVER),
            timed_out: Cell::new(false),
            waker: Cell::new(None),
            body_seq: Cell::new(0),
            body: RefCell::new(None),
            key: Cell::new(u32::MAX),
            stamps: Default::default(),
            send_rate: Cell::new(RateClock::default()),
            info: OnceCell::new(),
            access: Cell::new(None),
            upgrade: Cell::new(0),
            early_send: Cell::new(None),
        })
    }

    /// Sets the deadline of the next wait(s) to `d` from now.
    pub(crate) fn set_deadline(&self, d: Duration) {
        self.deadline.set(clock::deadline_after(d));
        self.timed_out.set(false);
    }

    /// Sets the deadline of the next wait(s) to an absolute `clock::now_ms` value.
    pub(crate) fn set_deadline_at(&self, at: u64) {
        self.deadline.set(at);
        self.timed_out.set(clock::now_ms() >= at);
    }

    /// No deadline (while the handler runs: it may take as long as it likes).
    pub(crate) fn clear_deadline(&self) {
        self.deadline.set(NEVER);
        self.timed_out.set(false);
    }

    /// The current deadline (`clock::now_ms` units; `u64::MAX`: none).
    pub(super) fn deadline(&self) -> u64 {
        self.deadline.get()
    }

    /// Whether the current deadline passed.
    pub(super) fn timed_out(&self) -> bool {
        self.timed_out.get()
    }

    /// Called by the sweeper: flags and wakes the connection if its deadline passed.
    pub(crate) fn expire_if_due(&self, now: u64) {
        if now >= self.deadline.get() && !self.timed_out.get() {
            self.timed_out.set(true);
            self.wake();
        }
    }

    /// Wakes whoever waits on this connection.
    pub(crate) fn wake(&self) {
        let waker = self.waker.take();
        if let Some(w) = &waker {
            w.wake_by_ref();
        }
        self.waker.set(waker);
    }

    pub(super) fn set_waker(&self, waker: &Waker) {
        match self.waker.take() {
            Some(w) if w.will_wake(waker) => self.waker.set(Some(w)),
            _ => self.waker.set(Some(waker.clone())),
        }
    }

    /// Polls for received data, appending it to `inbuf` (and stamping its arrival for the
    /// metrics); `stop_on_drain` makes graceful shutdown end the wait.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>, stop_on_drain: bool) -> Poll<Recv> {
        match self.poll_read(cx) {
            Poll::Ready(Ok(true)) => Poll::Ready(Recv::Data),
            Poll::Ready(Ok(false)) => Poll::Ready(Recv::Eof),
            Poll::Ready(Err(e)) => Poll::Ready(Recv::Failed(e)),
            Poll::Pending => {
                if self.timed_out.get() {
                    Poll::Ready(Recv::TimedOut)
                } else if stop_on_drain && self.registry.is_draining() {
                    Poll::Ready(Recv::Draining)
                } else {
                    self.set_waker(cx.waker());
                    Poll::Pending
                }
            }
        }
    }

    /// Waits for received data (bounded by the current deadline).
    pub(crate) async fn recv(&self, stop_on_drain: bool) -> Recv {
        poll_fn(|cx| self.poll_recv(cx, stop_on_drain)).await
    }

    /// Whether no received bytes wait to be processed.
    pub(crate) fn inbuf_is_empty(&self) -> bool {
        self.inbuf.borrow().is_empty()
    }

    /// Gives empty buffers back to the core's pools (an idle connection holds none).
    pub(crate) fn release_buffers(&self) {
        let mut inbuf = self.inbuf.borrow_mut();
        if inbuf.is_empty() && inbuf.capacity() > 0 {
            pool::put_inbuf(std::mem::take(&mut *inbuf));
        }
        let mut out = self.out.borrow_mut();
        if out.is_empty() && out.capacity() > 0 {
            pool::put_outbuf(std::mem::take(&mut *out));
        }
    }

    /// Runs `f` on the output buffer (taking one from the pool if needed).
    pub(crate) fn with_out<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut out = self.out.borrow_mut();
        if out.capacity() == 0 {
            *out = pool::take_outbuf();
        }
        f(&mut out)
    }

    /// Whether the connection runs over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.transport.is_tls()
    }

    /// The core's metrics recorder, if metrics are on.
    pub(super) fn metrics(&self) -> Option<&CoreHttpMetrics> {
        self.registry.metrics.as_deref()
    }

    /// Metrics: the connection was just accepted.
    #[inline]
    pub(crate) fn stamp_accepted(&self) {
        self.stamps.accepted(self.metrics());
    }

    /// Metrics: bytes that arrived at loop clock `at` are being appended to the input
    /// (`was_empty`: it held nothing before them).
    #[inline]
    pub(crate) fn stamp_received(&self, at: u64, was_empty: impl FnOnce() -> bool) {
        self.stamps.received(self.metrics(), at, was_empty);
    }

    /// Metrics: a request's handler is about to start.
    #[inline]
    pub(crate) fn stamp_started(&self) {
        self.stamps.started(self.metrics());
    }

    /// Metrics: a send completed (the batch counts as served if the output is empty).
    #[inline]
    pub(crate) fn stamp_flushed(&self) {
        self.stamps
            .flushed(self.metrics(), || self.out.borrow().is_empty());
    }

    /// The connection's info for its requests' extensions (two `getsockname`-type system
    /// calls and, over TLS, a copy of the handshake's facts, once per connection).
    pub(crate) fn conn_info(&self) -> &ConnInfo {
        self.info.get_or_init(|| self.transport.conn_info())
    }

    /// This connection as a request body's source, to tell its bodies from others.
    pub(crate) fn source_id(&self) -> SourceId {
        (self as *const ConnIo).cast()
    }
}
