//! The state of the core the current thread runs, reachable from a thread-local.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use crate::buf_ring::BufRingStats;
use crate::driver::{Driver, RingInfo};
use crate::executor::Executor;
use crate::join::{spawn_on_executor, JoinHandle};
use crate::remote::{Handle, Remote};
use crate::time::Timers;

/// Everything one core owns. Only its own thread ever touches it.
pub(crate) struct Core {
    pub(crate) driver: RefCell<Driver>,
    pub(crate) executor: Executor,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) index: usize,
    pub(crate) cpu: usize,
    pub(crate) handle: Handle,
    pub(crate) stopping: Cell<bool>,
    pub(crate) metrics: RefCell<crate::metrics::CoreMetrics>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

pub(crate) fn enter(core: Rc<Core>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(core));
}

pub(crate) fn leave() -> Option<Rc<Core>> {
    CURRENT.with(|c| c.borrow_mut().take())
}

/// Runs `f` with the current core, or returns `None` outside a runtime thread.
pub(crate) fn try_with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// Runs `f` with the current core.
///
/// # Panics
/// Outside a coreline runtime thread.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> R {
    try_with_core(f).expect(
        "coreline: this needs a coreline runtime; call it from a future run by Runtime::run",
    )
}

/// Runs `f` with the current core's io_uring driver.
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> R {
    with_core(|core| f(&mut core.driver.borrow_mut()))
}

/// Spawns a `!Send` future on the current core. Its output comes back through the
/// returned [`JoinHandle`]; dropping the handle detaches the task.
///
/// # Panics
/// Outside a coreline runtime thread.
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    with_core(|core| spawn_on_executor(&core.executor, future))
}

/// Which core the calling task runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreId {
    /// Index of the core in this runtime, `0..cores`.
    pub index: usize,
    /// The CPU the core's thread is pinned to.
    pub cpu: usize,
}

/// The core the calling task runs on.
///
/// # Panics
/// Outside a coreline runtime thread.
pub fn current_core() -> CoreId {
    with_core(|core| CoreId {
        index: core.index,
        cpu: core.cpu,
    })
}

/// A `Send` handle to every core of the current runtime.
///
/// # Panics
/// Outside a coreline runtime thread.
pub fn handle() -> Handle {
    with_core(|core| core.handle.clone())
}

/// The setup of the current core's ring (flags chosen, sizes).
///
/// # Panics
/// Outside a coreline runtime thread.
pub fn ring_info() -> RingInfo {
    with_driver(|d| d.info().clone())
}

/// Occupancy of the current core's provided-buffer ring.
///
/// # Panics
/// Outside a coreline runtime thread.
pub fn buf_ring_stats() -> BufRingStats {
    with_driver(|d| d.buf_ring.stats())
}

/// Operations the current core's kernel ring still owns, and tasks alive on this core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreStats {
    /// Operations submitted and not yet finished (including cancelled ones awaiting their
    /// final completion).
    pub ops_in_flight: usize,
    /// Tasks spawned and not yet finished.
    pub tasks: usize,
    /// Timers registered.
    pub timers: usize,
    /// `ASYNC_CANCEL`s this core has submitted since it started, one per operation ended
    /// early (a dropped future, a stopped or throttled multishot receive). Core shutdown's
    /// cancel-all is not counted.
    pub cancels: u64,
}

/// Counters of the current core.
///
/// # Panics
/// Outside a coreline runtime thread.
pub fn core_stats() -> CoreStats {
    with_core(|core| CoreStats {
        ops_in_flight: core.driver.borrow().in_flight(),
        tasks: core.executor.task_count(),
        timers: core.timers.borrow().len(),
        cancels: core.driver.borrow().cancels,
    })
}
