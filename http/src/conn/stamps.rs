//! The connection loop's timestamps: a few cells in each connection, filled from the
//! runtime's per-iteration [`loop_clock_us`] (no system call per request), and the hooks
//! the loop calls. Every hook returns at once when metrics are off.
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

use super::io::ConnIo;

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

/// A connection was accepted: counts it and stamps the time.
#[inline]
pub(crate) fn accepted(io: &ConnIo) {
    if let Some(m) = io.registry.metrics.as_deref() {
        m.accepted();
        io.stamps.recv.set(now());
    }
}

/// Bytes that arrived at loop clock `at` ([`RecvBuf::reaped_at_us`]) were appended to the
/// input; `was_empty` says whether the input held nothing before them (evaluated only
/// when metrics are on).
///
/// [`RecvBuf::reaped_at_us`]: coreline_runtime::RecvBuf::reaped_at_us
#[inline]
pub(crate) fn received(io: &ConnIo, at: u64, was_empty: impl FnOnce() -> bool) {
    let Some(m) = io.registry.metrics.as_deref() else {
        return;
    };
    // 0: no stamp (cannot happen while metrics are on); fall back to the loop's clock.
    let (s, t) = (&io.stamps, if at == 0 { now() } else { at as u32 });
    if !s.seen.replace(true) {
        m.first_byte(since(s.recv.get(), t));
    }
    if was_empty() {
        s.first.set(t);
    }
    s.recv.set(t);
}

/// A request's handler is about to start.
#[inline]
pub(crate) fn started(io: &ConnIo) {
    let Some(m) = io.registry.metrics.as_deref() else {
        return;
    };
    let (s, t) = (&io.stamps, now());
    m.started(since(s.recv.get(), t));
    let first = s.first.replace(s.recv.get());
    let n = s.batch_len.get();
    if n == 0 {
        s.batch_first.set(first);
    } else {
        s.batch_rest.set(first);
    }
    s.batch_len.set(n.saturating_add(1));
}

/// The output buffer is empty after a send: the batch's responses are with the kernel.
/// Called by `ConnIo::flush` itself, so every path that flushes records its batch.
#[inline]
pub(crate) fn flushed(io: &ConnIo) {
    let Some(m) = io.registry.metrics.as_deref() else {
        return;
    };
    let s = &io.stamps;
    let n = s.batch_len.get();
    if n == 0 || !io.out.borrow().is_empty() {
        return;
    }
    let t = now();
    m.served(since(s.batch_first.get(), t), 1);
    if n > 1 {
        m.served(since(s.batch_rest.get(), t), u64::from(n - 1));
    }
    s.batch_len.set(0);
}
