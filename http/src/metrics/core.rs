//! One core's HTTP metrics: written only by that core's thread (plain cells, no atomics),
//! copied out by a job the reader sends to the core.

use std::cell::{Cell, RefCell};

use coreline_runtime::metrics::local_snapshot;
use coreline_runtime::{buf_ring_stats, core_stats, current_core};

use http::StatusCode;

use super::counters::{Refusal, RefusalCounts, ResponseCounts, ResponseKind};
use super::snapshot::{record_n, CoreSnapshot, HttpHistograms};

/// The recording side, owned by the core's `ConnRegistry`.
pub(crate) struct CoreHttpMetrics {
    hist: RefCell<HttpHistograms>,
    requests: Cell<u64>,
    accepted: Cell<u64>,
    taken_over: Cell<u64>,
    handed_off: Cell<u64>,
    responses: RefCell<ResponseCounts>,
    refusals: RefCell<RefusalCounts>,
    proxy_spliced_bytes: Cell<u64>,
}

impl CoreHttpMetrics {
    pub(crate) fn new() -> Self {
        CoreHttpMetrics {
            hist: RefCell::new(HttpHistograms::new()),
            requests: Cell::new(0),
            accepted: Cell::new(0),
            taken_over: Cell::new(0),
            handed_off: Cell::new(0),
            responses: RefCell::default(),
            refusals: RefCell::default(),
            proxy_spliced_bytes: Cell::new(0),
        }
    }

    #[inline]
    pub(crate) fn accepted(&self) {
        self.accepted.set(self.accepted.get() + 1);
    }

    /// A connection accepted from another core's listener while that core lagged.
    pub(crate) fn took_over(&self) {
        self.taken_over.set(self.taken_over.get() + 1);
    }

    /// A connection this core accepted while it lagged, handed to another core to serve.
    pub(crate) fn handed_off(&self) {
        self.handed_off.set(self.handed_off.get() + 1);
    }

    #[inline]
    pub(crate) fn first_byte(&self, us: u64) {
        record_n(&mut self.hist.borrow_mut().accept_to_first_byte_us, us, 1);
    }

    #[inline]
    pub(crate) fn started(&self, queue_wait_us: u64) {
        self.requests.set(self.requests.get() + 1);
        record_n(&mut self.hist.borrow_mut().queue_wait_us, queue_wait_us, 1);
    }

    #[inline]
    pub(crate) fn served(&self, us: u64, n: u64) {
        record_n(&mut self.hist.borrow_mut().service_us, us, n);
    }

    #[inline]
    pub(crate) fn responded(&self, status: StatusCode, kind: ResponseKind) {
        self.responses.borrow_mut().count(status, kind);
    }

    #[inline]
    pub(crate) fn refused(&self, reason: Refusal) {
        self.refusals.borrow_mut().count(reason);
    }

    /// `n` bytes of a client response body went to the client by splice.
    #[inline]
    pub(crate) fn proxy_spliced(&self, n: u64) {
        self.proxy_spliced_bytes
            .set(self.proxy_spliced_bytes.get() + n);
    }

    /// A copy of everything, with the runtime's view of this core.
    pub(crate) fn snapshot(&self, connections_open: usize) -> CoreSnapshot {
        let id = current_core();
        CoreSnapshot {
            index: id.index,
            cpu: id.cpu,
            requests: self.requests.get(),
            connections_accepted: self.accepted.get(),
            connections_taken_over: self.taken_over.get(),
            connections_handed_off: self.handed_off.get(),
            connections_open: connections_open as u64,
            listen_backlog: 0,
            responses: *self.responses.borrow(),
            refusals: *self.refusals.borrow(),
            proxy_spliced_bytes: self.proxy_spliced_bytes.get(),
            http: self.hist.borrow().clone(),
            runtime: local_snapshot().histograms,
            buffers: buf_ring_stats(),
            stats: core_stats(),
        }
    }
}
