//! Accept-queue depth, sampled from a thread of its own every [`SAMPLE_PERIOD`].
//!
//! Not from the cores: a core busy running requests is exactly when its queue fills, and
//! also when it cannot run a sampling task, so a sampler on the core would only ever see
//! the queue once the core had drained it (the ring's multishot accept empties it at the
//! next `io_uring_enter`). The thread reads each listener through a
//! [`QueueProbe`] (a duplicate fd); the core's accept loop holds a [`ProbeGuard`] that
//! drops the probe with the listener, so no duplicate keeps a socket listening after its
//! core stopped accepting.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use coreline_runtime::net::QueueProbe;
use hdrhistogram::Histogram;

use super::snapshot::{depth_histogram, record_n};

/// How often each listener's accept queue is sampled.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// The sampler thread's state, shared with the cores (to add probes) and readers.
pub(crate) struct Sampler {
    state: Mutex<State>,
    stop: Condvar,
}

struct State {
    stopped: bool,
    /// Per listener: its core and its probe (`None` once the listener is gone).
    probes: Vec<(usize, Option<QueueProbe>)>,
    /// Per core: depth samples and the last backlog seen.
    cores: Vec<(Histogram<u64>, u32)>,
}

impl Sampler {
    /// Starts the thread for a server of `cores` cores.
    pub(crate) fn start(cores: usize) -> std::io::Result<Arc<Sampler>> {
        let sampler = Arc::new(Sampler {
            state: Mutex::new(State {
                stopped: false,
                probes: Vec::new(),
                cores: (0..cores).map(|_| (depth_histogram(), 0)).collect(),
            }),
            stop: Condvar::new(),
        });
        let s = sampler.clone();
        std::thread::Builder::new()
            .name("coreline-sampler".into())
            .spawn(move || s.run())?;
        Ok(sampler)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        let mut state = self.lock();
        while !state.stopped {
            let State { probes, cores, .. } = &mut *state;
            for (core, probe) in probes.iter() {
                let Some(info) = probe.as_ref().and_then(|p| p.read().ok()) else {
                    continue;
                };
                if let Some((hist, backlog)) = cores.get_mut(*core) {
                    record_n(hist, u64::from(info.depth), 1);
                    *backlog = info.backlog;
                }
            }
            state = self
                .stop
                .wait_timeout(state, SAMPLE_PERIOD)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        state.probes.clear();
    }

    /// Samples `probe` (a listener of core `core`) until the guard is dropped.
    pub(crate) fn watch(self: &Arc<Self>, core: usize, probe: QueueProbe) -> ProbeGuard {
        let mut state = self.lock();
        state.probes.push((core, Some(probe)));
        ProbeGuard {
            sampler: self.clone(),
            slot: state.probes.len() - 1,
        }
    }

    /// Core `core`'s depth samples and last backlog.
    pub(crate) fn depth_of(&self, core: usize) -> Option<(Histogram<u64>, u32)> {
        self.lock().cores.get(core).cloned()
    }

    /// Ends the thread (and drops every probe).
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.stop.notify_all();
    }
}

/// Keeps a listener's probe alive; dropping it closes the probe's fd.
pub(crate) struct ProbeGuard {
    sampler: Arc<Sampler>,
    slot: usize,
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        let probe = self
            .sampler
            .lock()
            .probes
            .get_mut(self.slot)
            .and_then(|(_, p)| p.take());
        drop(probe);
    }
}
