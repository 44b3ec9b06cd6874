//! Gathering the cores' metrics: each core's copy, taken on the core by a job through the
//! runtime's cross-core queue.

use crate::conn;
use crate::metrics::CoreSnapshot;

/// This core's copy (run on the core, by a cross-core job); `None` if no server with
/// metrics runs here.
pub(crate) fn local_core_snapshot() -> Option<CoreSnapshot> {
    let core = conn::current()?;
    let metrics = core.metrics.as_deref()?;
    Some(metrics.snapshot(core.connections()))
}

/// Asks every core of `rt` for its copy.
pub(crate) async fn gather(rt: &coreline_runtime::Handle) -> Vec<CoreSnapshot> {
    let pending: Vec<_> = (0..rt.cores())
        .map(|i| rt.spawn_on(i, || async { local_core_snapshot() }))
        .collect();
    let mut cores = Vec::with_capacity(pending.len());
    for p in pending {
        if let Some(Some(s)) = p.await {
            cores.push(s);
        }
    }
    cores
}
