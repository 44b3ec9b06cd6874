//! The connection loop's timestamps: a few cells in each connection, filled from the
//! runtime's per-iteration [`loop_clock_us`] (no system call per request), and the hooks
//! the connection calls (through `ConnIo::stamp_*`, which pass the core's recorder).
//! Every hook returns at once when metrics are off (no recorder).
//!
//! Times are the loop clock truncated to 32 bits (wrapping; durations up to 35 minutes).
//! - accept: when the connection was set up (the accept's reap);
//! - received: when the latest bytes *arrived*: the loop clock at the reap of the receive
//!   completion that carried them ([`RecvBuf::reaped_at_us`]), not when the connection
//!   read them. Chunks that arrive while a handler runs queue in the runtime, each with
//!   its own stamp, so a request pipelined in a later packet counts its wait from its
//!   arrival, not from after the slow handler in front of it. (Over TLS, the stamp of
//!   the latest chunk fed to the decryptor.)
//! - a request's *first byte*: when the oldest unconsumed input byte was received. After
//!   a request is taken, the input left over counts from the latest receipt. That is
//!   exact here because the loop reads a chunk only when no complete request is left, so
//!   the leftover begins in the latest chunk;
//! - *queue wait*: handler start − receipt of the chunk that completed the request;
//! - *service*: send completion of the flush carrying the response − first byte. The
//!   responses of a batch share one flush, so one flush records the batch's first request
//!   and, with one `record_n`, the rest (counted from the latest first byte among them:
//!   the same one when the batch arrived in one chunk, the usual case).
//!
//! Every read of the connection stamps, the handler's body reads included, so a request
//! pipelined behind a body counts from the chunk it arrived in.
//!
//! [`RecvBuf::reaped_at_us`]: coreline_runtime::RecvBuf::reaped_at_us

use std::cell::Cell;

use coreline_runtime::metrics::loop_clock_us;

use crate::metrics::CoreHttpMetrics;

/// Per-connection timestamps (20 bytes in the shared connection state, not in the task).
#[derive(Default)]
pub(crate) struct ConnStamps {
    /// Accept time until the first byte arrives; then the latest receipt.
    recv: Cell<u32>,
    /// Receipt of the oldest unconsumed input byte.
    first: Cell<u32>,
    /// First byte of the first request in the unflushed batch.
    batch_first: Cell<u32>,
    /// First byte of the other requests in the batch.
    batch_rest: Cell<u32>,
    /// Requests in the unflushed batch.
    batch_len: Cell<u16>,
    /// Whether a byte arrived yet.
    seen: Cell<bool>,
}

#[inline]
fn now() -> u32 {
    loop_clock_us() as u32
}

/// `now − then`; 0 if `then` is later (never expected; a huge value would be worse).
#[inline]
fn since(then: u32, now: u32) -> u64 {
    let d = now.wrapping_sub(then);
    if d > i32::MAX as u32 {
        0
    } else {
        u64::from(d)
    }
}

impl ConnStamps {
    /// A connection was accepted: counts it and stamps the time.
    #[inline]
    pub(crate) fn accepted(&self, metrics: Option<&CoreHttpMetrics>) {
        if let Some(m) = metrics {
            m.accepted();
            self.recv.set(now());
        }
    }

    /// Bytes that arrived at loop clock `at` ([`RecvBuf::reaped_at_us`]) were appended to
    /// the input; `was_empty` says whether the input held nothing before them (evaluated
    /// only when metrics are on).
    ///
    /// [`RecvBuf::reaped_at_us`]: coreline_runtime::RecvBuf::reaped_at_us
    #[inline]
    pub(crate) fn received(
        &self,
        metrics: Option<&CoreHttpMetrics>,
        at: u64,
        was_empty: impl FnOnce() -> bool,
    ) {
        let Some(m) = metrics else {
            return;
        };
        // 0: no stamp (cannot happen while metrics are on); fall back to the loop's clock.
        let t = if at == 0 { now() } else { at as u32 };
        if !self.seen.replace(true) {
            m.first_byte(since(self.recv.get(), t));
        }
        if was_empty() {
            self.first.set(t);
        }
        self.recv.set(t);
    }

    /// A request's handler is about to start.
    #[inline]
    pub(crate) fn started(&self, metrics: Option<&CoreHttpMetrics>) {
        let Some(m) = metrics else {
            return;
        };
        let t = now();
        m.started(since(self.recv.get(), t));
        let first = self.first.replace(self.recv.get());
        let n = self.batch_len.get();
        if n == 0 {
            self.batch_first.set(first);
        } else {
            self.batch_rest.set(first);
        }
        self.batch_len.set(n.saturating_add(1));
    }

    /// A send completed; `out_empty` says whether the output buffer is empty now (then the
    /// batch's responses are with the kernel; evaluated only when metrics are on). Called
    /// by `ConnIo::flush` itself, so every path that flushes records its batch.
    #[inline]
    pub(crate) fn flushed(
        &self,
        metrics: Option<&CoreHttpMetrics>,
        out_empty: impl FnOnce() -> bool,
    ) {
        let Some(m) = metrics else {
            return;
        };
        let n = self.batch_len.get();
        if n == 0 || !out_empty() {
            return;
        }
        let t = now();
        m.served(since(self.batch_first.get(), t), 1);
        if n > 1 {
            m.served(since(self.batch_rest.get(), t), u64::from(n - 1));
        }
        self.batch_len.set(0);
    }
}
