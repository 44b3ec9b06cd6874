//! [`ConnRegistry`]: one core's open connections and what they share (the configuration,
//! the shutdown flags, the metrics recorder, the TLS handshakes in progress), and the sweep
//! that enforces every connection's deadline.
//!
//! Graceful shutdown runs in two steps, in this order: [`ConnRegistry::begin_drain`] tells
//! the core's main task to stop accepting and close its listeners; only then does the main
//! task call [`ConnRegistry::drain_connections`], which makes responses say
//! `Connection: close` and idle connections close. The other order would send clients to
//! reconnect while the listener still queues their connections, and those are reset when
//! it closes.
//!
//! Connection deadlines are plain fields (`ConnIo::set_deadline` writes a number); one
//! task per core calls [`ConnRegistry::sweep`] every sweep period, which wakes the
//! connections whose deadline passed. That keeps timer operations off the request path
//! entirely, at the cost of a timeout resolution of one sweep period.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

use coreline_runtime::net::{RunDelay, SteerLoads};
use slab::Slab;

use super::handshake::Handshakes;
use super::head_start::OkHeadStart;
use super::io::ConnIo;
use crate::access_log::CoreAccessLog;
use crate::clock;
use crate::config::Config;
use crate::metrics::CoreHttpMetrics;

/// How long idle connections still wait for a request after draining began. nginx closes
/// them at once, and a request that crosses the close is lost (a client may retry an
/// idempotent one; a POST fails). Waiting a moment answers those with `Connection: close`
/// instead; a connection that stays silent is closed when it passes.
pub(crate) const DRAIN_IDLE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// One core's connections and the state they share.
pub(crate) struct ConnRegistry {
    pub(crate) config: Config,
    /// Shutdown was asked for: the main task stops accepting.
    stopping: Cell<bool>,
    /// The listeners are closed: connections answer with `Connection: close` and close.
    draining: Cell<bool>,
    /// When draining began (`clock::now_ms`).
    drain_started: Cell<u64>,
    conns: RefCell<Slab<Rc<ConnIo>>>,
    /// TLS connections still in their handshake (not in `conns` yet).
    pub(super) handshakes: Handshakes,
    /// The core's main task, woken when shutdown is asked for and when a connection ends
    /// during it.
    main_waker: RefCell<Option<Waker>>,
    /// The core's HTTP metrics, if they are on.
    pub(crate) metrics: Option<Box<CoreHttpMetrics>>,
    /// The core's access-log buffer, if the access log is on.
    pub(crate) access_log: Option<Box<CoreAccessLog>>,
    /// With steered listeners: where this core publishes its open connections, its index
    /// there, and its lag's sampler.
    steer: RefCell<Option<(Arc<SteerLoads>, usize, RunDelay)>>,
    /// Connections the accept loops took on this core (refused ones included).
    accepted: Cell<u64>,
    /// The loops waiting for a lagging peer to take over (see `server::steal`).
    steal_wakers: RefCell<Vec<Waker>>,
    /// When this core last looked for a lagging peer (`clock::now_ms`).
    peers_checked: Cell<u64>,
    /// The encoded start of this core's `200 OK` heads (this server's `Server` value).
    pub(super) ok_head_start: OkHeadStart,
}

thread_local! {
    /// The registry of the core this thread runs, for cross-core shutdown and metrics jobs.
    static CURRENT: RefCell<Option<Rc<ConnRegistry>>> = const { RefCell::new(None) };
}

impl ConnRegistry {
    pub(crate) fn new(config: Config) -> Rc<Self> {
        let metrics = config.metrics.then(|| Box::new(CoreHttpMetrics::new()));
        let access_log = (config.access_log.clone()).map(|log| Box::new(CoreAccessLog::new(log)));
        Rc::new(ConnRegistry {
            config,
            stopping: Cell::new(false),
            draining: Cell::new(false),
            drain_started: Cell::new(0),
            conns: RefCell::new(Slab::new()),
            handshakes: Handshakes::default(),
            main_waker: RefCell::new(None),
            metrics,
            access_log,
            steer: RefCell::new(None),
            accepted: Cell::new(0),
            steal_wakers: RefCell::new(Vec::new()),
            peers_checked: Cell::new(0),
            ok_head_start: OkHeadStart::default(),
        })
    }

    /// Makes this core publish its open and accepted connections and its lag to `loads`
    /// as core `index`, now and whenever one is accepted, opens or closes. Call it on
    /// the core's thread: the lag is that thread's.
    pub(crate) fn publish_loads_to(&self, loads: Arc<SteerLoads>, index: usize) {
        *self.steer.borrow_mut() = Some((loads, index, RunDelay::for_this_thread()));
        self.publish_load();
    }

    /// Publishes this core's open and accepted connections, and its lag when it is due
    /// a sample, if its listeners are steered. Only work calls it: an idle core sleeps,
    /// and the steering program reads its old entry with nothing pending as idle. Also
    /// wakes the takeover loops if a peer lags (see [`check_peers`](Self::check_peers)).
    pub(crate) fn publish_load(&self) {
        let lagging = match &mut *self.steer.borrow_mut() {
            Some((loads, index, run_delay)) => {
                if let Some(lag) = run_delay.sample() {
                    loads.publish_lag(*index, lag);
                }
                loads.publish(*index, self.connections() as u64, self.accepted.get());
                // At most once per millisecond: publishing happens per connection event.
                let now = clock::now_ms();
                self.peers_checked.replace(now) != now
                    && !self.steal_wakers.borrow().is_empty()
                    && loads.lagging_peer(*index).is_some()
            }
            None => false,
        };
        if lagging {
            self.wake_stealers();
        }
    }

    /// For the sweep tick: refreshes this core's lag, and wakes the loops waiting to take
    /// over a peer's queue if a peer lags, so that a core with no connection events
    /// notices too. The lag is refreshed here because a starved core that is sent
    /// nothing has no connection events: without the tick its remembered lag would
    /// only decay, the program would take it for healthy again and send it connections,
    /// and those would wait for its next slice (or for the wait to show).
    pub(crate) fn check_peers(&self) {
        self.refresh_lag();
        if self.steal_wakers.borrow().is_empty() {
            return;
        }
        let lagging = match &*self.steer.borrow() {
            Some((loads, index, _)) => loads.lagging_peer(*index).is_some(),
            None => false,
        };
        if lagging {
            self.wake_stealers();
        }
    }

    fn wake_stealers(&self) {
        for w in self.steal_wakers.take() {
            w.wake();
        }
    }

    /// Registers a loop to wake when [`check_peers`](Self::check_peers) finds a lagging
    /// peer.
    pub(crate) fn wake_on_lagging_peer(&self, waker: &Waker) {
        let mut wakers = self.steal_wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    /// Publishes this core's lag if a sample is due (steered listeners only).
    fn refresh_lag(&self) {
        if let Some((loads, index, run_delay)) = &mut *self.steer.borrow_mut() {
            if let Some(lag) = run_delay.sample() {
                loads.publish_lag(*index, lag);
            }
        }
    }

    /// Where to hand the connections of a batch of accepts that just arrived: a healthy
    /// core if this one lags by the steering program's test, after refreshing this core's
    /// lag from the scheduler's statistics (see `SteerLoads::hand_off_target`); `None`
    /// when it does not lag or its listeners are not steered.
    pub(crate) fn hand_off_target(&self) -> Option<usize> {
        self.refresh_lag();
        let steer = self.steer.borrow();
        let (loads, index, _) = steer.as_ref()?;
        loads.hand_off_target(*index)
    }

    /// An accept loop took a connection. With steering, publishes at once: the program counts the connection as pending
    /// here until then (a refused one is never registered).
    pub(crate) fn accepted_one(&self) {
        self.accepted.set(self.accepted.get() + 1);
        self.publish_load();
    }

    /// Makes this the registry that [`current`] and [`begin_drain_current`] reach on this
    /// thread.
    pub(crate) fn install(self: &Rc<Self>) {
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
    }

    /// Undoes [`install`](Self::install) (breaks the thread-local reference).
    pub(crate) fn uninstall() {
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }

    /// Whether connections are draining (the listeners are closed).
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.get()
    }

    /// Whether graceful shutdown was asked for.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.get()
    }

    /// Asks for graceful shutdown on this core: wakes the main task, which stops the
    /// accept loops and then calls [`drain_connections`](Self::drain_connections).
    pub(crate) fn begin_drain(&self) {
        if !self.stopping.replace(true) {
            self.wake_main();
        }
    }

    /// Once the listeners are closed: every connection answers its next response with
    /// `Connection: close`, idle ones close after a short wait, and handshakes still in
    /// progress are closed.
    pub(crate) fn drain_connections(&self) {
        if self.draining.replace(true) {
            return;
        }
        self.drain_started.set(clock::now_ms());
        self.handshakes.evict_all();
        let conns: Vec<Rc<ConnIo>> = self.conns.borrow().iter().map(|(_, c)| c.clone()).collect();
        for c in conns {
            c.wake();
        }
    }

    /// Until when an idle connection still waits for a request once draining began:
    /// [`DRAIN_IDLE_WAIT`] (or the shutdown grace, if shorter) after it began.
    pub(crate) fn drain_idle_deadline(&self) -> u64 {
        let wait = DRAIN_IDLE_WAIT.min(self.config.timeouts.shutdown_grace);
        self.drain_started.get() + wait.as_millis() as u64
    }

    fn wake_main(&self) {
        if let Some(w) = self.main_waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Registers the main task's waker.
    pub(crate) fn set_main_waker(&self, waker: &Waker) {
        let mut slot = self.main_waker.borrow_mut();
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Adds a connection to the registry; returns its key.
    pub(crate) fn register(&self, io: Rc<ConnIo>) -> u32 {
        // (u32: four billion connections per core is beyond any fd limit.)
        let key = self.conns.borrow_mut().insert(io) as u32;
        self.publish_load();
        key
    }

    /// Removes a connection from the registry.
    pub(crate) fn deregister(&self, key: u32) {
        let removed = self.conns.borrow_mut().try_remove(key as usize);
        drop(removed); // outside the borrow
        self.publish_load();
        self.connection_ended();
    }

    /// A connection or handshake ended: during shutdown the main task counts what is left.
    pub(super) fn connection_ended(&self) {
        if self.stopping.get() {
            self.wake_main();
        }
    }

    /// Connections currently open on this core, TLS handshakes in progress included.
    pub(crate) fn connections(&self) -> usize {
        self.conns.borrow().len() + self.handshakes.len()
    }

    /// Wakes every connection whose deadline has passed.
    pub(crate) fn sweep(&self) {
        let now = clock::now_ms();
        let conns = self.conns.borrow();
        for (_, c) in conns.iter() {
            c.expire_if_due(now);
        }
    }

    /// Hands this core's buffered access-log lines to the writer (no-op when it is off).
    pub(crate) fn flush_access_log(&self) {
        if let Some(log) = &self.access_log {
            log.flush();
        }
    }

    /// Drops every connection's registry entry (at the end of the core's run).
    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.conns.borrow_mut());
        drop(all);
    }
}

/// The registry of this thread's core, if a server runs here.
pub(crate) fn current() -> Option<Rc<ConnRegistry>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Starts graceful shutdown of the server running on this thread's core, if any.
pub(crate) fn begin_drain_current() {
    if let Some(core) = current() {
        core.begin_drain();
    }
}

#[cfg(test)]
mod tests;
