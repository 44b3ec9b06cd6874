//! One core's part of the run: its connections, its once-a-second ticker, and the watch
//! for an interrupt; returns the core's counters.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use coreline_runtime::{spawn_local, time};

use crate::conn::{self, Core};
use crate::interrupt::Interrupt;
use crate::progress::Progress;
use crate::stats::Stats;

/// How often a core looks whether its connections are done or the run was interrupted.
const WATCH: Duration = Duration::from_millis(50);

/// Runs connections `first..first + count` of the run on this core.
pub async fn run(
    core: Rc<Core>,
    first: usize,
    count: usize,
    progress: Arc<Progress>,
    interrupt: Arc<Interrupt>,
    index: usize,
) -> Stats {
    let conns: Vec<_> = (first..first + count)
        .map(|g| spawn_local(conn::run(core.clone(), g)))
        .collect();
    let ticker = spawn_local(tick(core.clone(), progress.clone(), index));
    while !conns.iter().all(|c| c.is_finished()) {
        if interrupt.is_set() {
            conns.iter().for_each(|c| c.abort()); // in-flight requests are abandoned
            break;
        }
        time::sleep(WATCH).await;
    }
    for c in conns {
        let _ = c.await;
    }
    ticker.abort();
    let mut stats = core.stats.take();
    // The last, partial interval (unless the run ended exactly on a tick).
    let measured = core.plan.end - core.plan.measure_from;
    let whole = measured.as_secs_f64().ceil() as usize;
    if !stats.interval.is_empty() || stats.intervals.len() < whole {
        stats.rotate();
    }
    progress.publish(index, stats.requests, stats.errors.total());
    stats
}

/// Closes an interval of the core's histogram every second of the run and publishes the
/// counts for the progress line. At the end of a warm-up (whole seconds) the counts start
/// over instead.
async fn tick(core: Rc<Core>, progress: Arc<Progress>, index: usize) {
    let warmup = (core.plan.measure_from - core.plan.start).as_secs();
    for k in 1u64.. {
        time::sleep_until(core.plan.start + Duration::from_secs(k)).await;
        let mut stats = core.stats.borrow_mut();
        match k.cmp(&warmup) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => *stats = Stats::default(),
            std::cmp::Ordering::Greater => stats.rotate(),
        }
        progress.publish(index, stats.requests, stats.errors.total());
    }
}
