//! One gather at a time for an admin listener: scrapes that arrive while the cores are
//! being asked for their copies wait for that gather and share its snapshot, and a
//! snapshot younger than [`FRESH_FOR`] answers without asking the cores at all. However
//! many clients scrape, the observed cores run at most one copy job each per
//! [`FRESH_FOR`] (plus one per gather that found no metrics).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::snapshot::MetricsSnapshot;
use crate::ServerHandle;

/// How long a gathered snapshot answers scrapes (Prometheus scrapes every 15 s or more;
/// a person watching `coreline stats` polls once a second).
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);

/// The last snapshot and the gather in progress, shared by every clone of an admin handler.
#[derive(Default)]
pub(crate) struct SnapshotCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last: Option<(Instant, Arc<MetricsSnapshot>)>,
    gathering: bool,
    /// Counts finished gathers (with a result or not), so a waiter knows its gather ended.
    finished: u64,
    waiters: Vec<Waker>,
    /// Gathers started, for [`SnapshotCache::gathers`].
    started: u64,
}

impl SnapshotCache {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing here panics while holding the lock, but a poisoned one is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many gathers were started.
    pub(crate) fn gathers(&self) -> u64 {
        self.lock().started
    }

    /// The snapshot of `observed`: the last one if fresh, else the one being gathered, else
    /// a new gather's. `None` if the observed server has no metrics.
    pub(crate) async fn snapshot(&self, observed: &ServerHandle) -> Option<Arc<MetricsSnapshot>> {
        loop {
            let wait_for = {
                let mut s = self.lock();
                if let Some((at, snap)) = &s.last {
                    if at.elapsed() < FRESH_FOR {
                        return Some(snap.clone());
                    }
                }
                if s.gathering {
                    Some(s.finished)
                } else {
                    s.gathering = true;
                    s.started += 1;
                    None
                }
            };
            if let Some(finished) = wait_for {
                GatherEnd {
                    cache: self,
                    finished,
                }
                .await;
                continue; // fresh now, or that gather found nothing: look again
            }
            // Ends the gather also if this scrape is dropped halfway (its client left).
            let _gathering = Gathering(self);
            let snap = observed.metrics_snapshot().await.map(Arc::new);
            if let Some(snap) = &snap {
                self.lock().last = Some((Instant::now(), snap.clone()));
            }
            return snap;
        }
    }
}

/// Marks the end of the gather this scrape runs, and wakes the scrapes waiting for it.
struct Gathering<'a>(&'a SnapshotCache);

impl Drop for Gathering<'_> {
    fn drop(&mut self) {
        let waiters = {
            let mut s = self.0.lock();
            s.gathering = false;
            s.finished += 1;
            std::mem::take(&mut s.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// Ready once the gather in progress when it was made has ended.
struct GatherEnd<'a> {
    cache: &'a SnapshotCache,
    finished: u64,
}

impl Future for GatherEnd<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.cache.lock();
        if s.finished != self.finished {
            return Poll::Ready(());
        }
        if !s.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
