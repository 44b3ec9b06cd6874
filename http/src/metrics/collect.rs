//! Completing a [`MetricsSnapshot`] of a running server from the cores' copies (gathered
//! by the server, one job per core): the sampler's depth histograms and the listen
//! counters' delta; and waiting for one from a thread outside the runtime.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime};

use coreline_runtime::metrics::ListenCounters;

use super::sampler::Sampler;
use super::snapshot::{CoreSnapshot, MetricsSnapshot};

/// What a server run with metrics keeps besides the cores' own state.
pub(crate) struct RunMetrics {
    pub(crate) sampler: Arc<Sampler>,
    base: Option<ListenCounters>,
    started: Instant,
    started_wall: SystemTime,
}

impl RunMetrics {
    /// Notes the start time and the listen counters' base; starts the sampler thread.
    pub(crate) fn start(cores: usize) -> std::io::Result<Arc<RunMetrics>> {
        Ok(Arc::new(RunMetrics {
            sampler: Sampler::start(cores)?,
            base: ListenCounters::read().ok(),
            started: Instant::now(),
            started_wall: SystemTime::now(),
        }))
    }

    /// Completes the cores' copies into a snapshot.
    pub(crate) fn assemble(&self, mut cores: Vec<CoreSnapshot>) -> MetricsSnapshot {
        for c in &mut cores {
            if let Some((depth, backlog)) = self.sampler.depth_of(c.index) {
                c.http.accept_queue_depth = depth;
                c.listen_backlog = backlog;
            }
        }
        let listen = match (self.base, ListenCounters::read()) {
            (Some(base), Ok(now)) => Some(now.delta(&base)),
            _ => None,
        };
        MetricsSnapshot {
            started: self.started_wall,
            uptime: self.started.elapsed(),
            cores,
            listen,
        }
    }
}

/// Runs `fut` on this (non-runtime) thread until done or `timeout`.
pub(crate) fn block_on<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let start = Instant::now();
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return None;
        }
        std::thread::park_timeout(left);
    }
}
