//! Reading the metrics: a copy of each core's histograms, fetched on that core, merged here.

use super::LoopHistograms;
use crate::context::{with_core, CoreId};
use crate::remote::Handle;

/// A copy of one core's metrics.
#[derive(Debug, Clone)]
pub struct CoreMetricsSnapshot {
    /// Which core this is.
    pub core: CoreId,
    /// Whether the core records metrics at all ([`Builder::metrics`](crate::Builder::metrics)).
    pub enabled: bool,
    /// Its histograms (empty when not `enabled`).
    pub histograms: LoopHistograms,
}

/// Every core's metrics, taken by [`Handle::metrics_snapshot`].
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// One entry per core that answered, in core order.
    pub cores: Vec<CoreMetricsSnapshot>,
}

impl MetricsSnapshot {
    /// All cores' histograms added together.
    pub fn merged(&self) -> LoopHistograms {
        let mut total = LoopHistograms::new();
        for core in &self.cores {
            total.add(&core.histograms);
        }
        total
    }
}

/// A copy of the current core's metrics (cheap: a few KiB copied, no locks).
///
/// # Panics
/// Outside a coreline runtime thread.
pub fn local_snapshot() -> CoreMetricsSnapshot {
    with_core(|core| {
        let metrics = core.metrics.borrow();
        CoreMetricsSnapshot {
            core: CoreId {
                index: core.index,
                cpu: core.cpu,
            },
            enabled: metrics.enabled(),
            histograms: metrics.hist.clone(),
        }
    })
}

impl Handle {
    /// Asks every core (through [`spawn_on`](Handle::spawn_on)) for a copy of its metrics
    /// and collects them. Cores that have already stopped are left out. The cores keep
    /// recording meanwhile; each copy is consistent for its own core.
    pub async fn metrics_snapshot(&self) -> MetricsSnapshot {
        let pending: Vec<_> = (0..self.cores())
            .map(|i| self.spawn_on(i, || async { local_snapshot() }))
            .collect();
        let mut cores = Vec::with_capacity(pending.len());
        for p in pending {
            if let Some(s) = p.await {
                cores.push(s);
            }
        }
        MetricsSnapshot { cores }
    }
}
