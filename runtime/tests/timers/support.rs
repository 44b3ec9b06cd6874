//! What the timer and task tests share: running one at a time, one- and two-core runtimes,
//! a drop flag and a median.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use coreline_runtime::{Cores, Runtime};

/// The tests measure latencies: run them one at a time even under a parallel harness.
static SERIAL: Mutex<()> = Mutex::new(());

pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `entry` as the only task of a one-core runtime and returns its output.
pub(crate) fn on_one_core<F, Fut>(entry: F) -> Fut::Output
where
    F: Fn() -> Fut + Sync,
    Fut: Future + 'static,
    Fut::Output: Send,
{
    let rt = Runtime::builder().cores(Cores::Count(1)).build().unwrap();
    rt.run(|_| entry()).expect("runtime").remove(0)
}

pub(crate) fn two_core_runtime() -> Runtime {
    let rt = Runtime::builder().cores(Cores::All).build().unwrap();
    assert!(
        rt.cpus().len() >= 2,
        "this test needs at least 2 CPUs, has {:?}",
        rt.cpus()
    );
    rt
}

/// Sets its flag when dropped: shows that a future was dropped (and when).
pub(crate) struct DropFlag(pub(crate) Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

pub(crate) fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
