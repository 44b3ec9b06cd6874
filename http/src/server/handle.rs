//! [`ServerHandle`]: stop a running server (graceful shutdown) from any thread.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::gather::gather;
use crate::conn::begin_drain_current;
use crate::metrics::{CoreSnapshot, MetricsSnapshot, RunMetrics};

/// A `Send + Sync` handle to a [`Server`](crate::Server): wait until it accepts
/// connections, or shut it down gracefully. Cheap to clone.
///
/// Graceful shutdown: every core stops accepting and closes its listeners, then lets
/// requests in flight finish (their responses say `Connection: close`, as does the answer
/// to a request that arrives meanwhile), half-closes its idle keep-alive connections and
/// reads until their clients close, and drops whatever is still open after
/// [`Timeouts::shutdown_grace`](crate::Timeouts::shutdown_grace) (the drain timeout). Then
/// [`Server::run`](crate::Server::run) returns.
#[derive(Clone, Debug, Default)]
pub struct ServerHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    shutdown: bool,
    runtime: Option<coreline_runtime::Handle>,
    cores: usize,
    ready: usize,
    finished: bool,
    /// Set while a run with metrics is on (and kept after it, for the final copies).
    metrics: Option<Arc<RunMetrics>>,
    /// The cores' metrics as they stopped (filled during the end of a run).
    final_cores: Vec<CoreSnapshot>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("shutdown", &self.shutdown)
            .field("cores", &self.cores)
            .field("ready", &self.ready)
            .field("finished", &self.finished)
            .finish()
    }
}

impl ServerHandle {
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts graceful shutdown and returns at once; [`Server::run`](crate::Server::run)
    /// returns when it is done. Safe to call from any thread (a signal-handling thread,
    /// a handler on any core), any number of times, before or during the run.
    pub fn shutdown(&self) {
        let runtime = {
            let mut s = self.state();
            s.shutdown = true;
            s.runtime.clone()
        };
        self.inner.changed.notify_all();
        if let Some(rt) = runtime {
            for core in 0..rt.cores() {
                // Dropping the join handle detaches the job; a stopped core drops it.
                drop(rt.spawn_on(core, || async { begin_drain_current() }));
            }
        }
    }

    /// The runtime the server runs on, once it has started (and until it finished): run
    /// work on its cores with [`spawn_on`](coreline_runtime::Handle::spawn_on), e.g. to
    /// read a core's counters.
    pub fn runtime(&self) -> Option<coreline_runtime::Handle> {
        self.state().runtime.clone()
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.state().shutdown
    }

    /// Waits until every core of the running server accepts connections. Returns false on
    /// timeout, or if the run ended (or failed) first.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        let mut s = self.state();
        loop {
            if s.finished {
                return false;
            }
            if s.cores > 0 && s.ready == s.cores {
                return true;
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return false;
            }
            s = self
                .inner
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The metrics of every core (requires [`Builder::metrics`](crate::Builder::metrics)):
    /// one job per core through the runtime's cross-core queue, so a core busy with a
    /// long task answers late. After the run ended: the metrics as the cores stopped.
    /// `None` if metrics are off or the server has not started.
    pub async fn metrics_snapshot(&self) -> Option<MetricsSnapshot> {
        let (runtime, metrics) = {
            let s = self.state();
            (s.runtime.clone(), s.metrics.clone()?)
        };
        let cores = match runtime {
            Some(rt) => gather(&rt).await,
            None => self.state().final_cores.clone(),
        };
        Some(metrics.assemble(cores))
    }

    /// [`metrics_snapshot`](Self::metrics_snapshot) from a thread that is not a runtime
    /// core (a signal thread, `main` after [`Server::run`](crate::Server::run) returned),
    /// waiting at most `timeout`.
    pub fn metrics_snapshot_blocking(&self, timeout: Duration) -> Option<MetricsSnapshot> {
        crate::metrics::block_on(self.metrics_snapshot(), timeout).flatten()
    }

    /// A run with `cores` cores is starting (`metrics`: its metrics, if on).
    pub(crate) fn starting(&self, cores: usize, metrics: Option<Arc<RunMetrics>>) {
        let mut s = self.state();
        s.cores = cores;
        s.ready = 0;
        s.finished = false;
        s.metrics = metrics;
        s.final_cores.clear();
    }

    /// A core leaves its last metrics before it stops.
    pub(crate) fn core_final_metrics(&self, snapshot: CoreSnapshot) {
        let mut s = self.state();
        s.final_cores.push(snapshot);
        s.final_cores.sort_by_key(|c| c.index);
    }

    /// A core is accepting. Registers the runtime handle (for cross-core shutdown) and
    /// returns whether shutdown was already requested.
    pub(crate) fn core_ready(&self, runtime: coreline_runtime::Handle) -> bool {
        let shutdown = {
            let mut s = self.state();
            s.runtime.get_or_insert(runtime);
            s.ready += 1;
            s.shutdown
        };
        self.inner.changed.notify_all();
        shutdown
    }

    /// The run ended.
    pub(crate) fn finished(&self) {
        {
            let mut s = self.state();
            s.finished = true;
            s.runtime = None;
            if let Some(m) = &s.metrics {
                m.sampler.stop();
            }
        }
        self.inner.changed.notify_all();
    }
}
