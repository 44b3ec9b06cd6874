//! Drop points: runs an operation's future to before submission, in flight, or past its
//! reaped completion, and drops it there.

use std::future::Future;

use coreline_runtime::yield_now;

use crate::probe::{poll_noop, poll_probe, wait_fired};

/// Where an operation's future is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum At {
    /// Created, never polled: nothing may have been submitted.
    BeforeSubmit,
    /// Polled once (SQE queued). With `kernel_has_it`, the core also entered the ring once,
    /// so the kernel holds the op when the future goes.
    InFlight { kernel_has_it: bool },
    /// Polled once, made to complete, completion reaped by the driver, never polled again.
    AfterCompletion,
}

/// Runs `fut` to the drop point `at` and drops it. `trigger` makes the op complete (used at
/// `AfterCompletion` only, after the first poll); `pump` is called while waiting for it.
/// Returns whether `AfterCompletion` really waited for a reaped completion (false if the
/// future finished on its first poll).
pub(crate) async fn exercise<F: Future>(
    fut: F,
    at: At,
    what: &str,
    trigger: impl FnOnce(),
    pump: impl FnMut(),
) -> bool {
    let mut fut = Box::pin(fut);
    let mut reaped = false;
    match at {
        At::BeforeSubmit => {}
        At::InFlight { kernel_has_it } => {
            let _ = poll_noop(fut.as_mut());
            if kernel_has_it {
                yield_now().await;
            }
        }
        At::AfterCompletion => {
            if let Some(probe) = poll_probe(fut.as_mut()) {
                trigger();
                wait_fired(&probe, what, pump).await;
                reaped = true;
            }
        }
    }
    drop(fut);
    reaped
}

/// [`exercise`] for ops that complete by themselves.
pub(crate) async fn exercise_plain<F: Future>(fut: F, at: At, what: &str) {
    let reaped = exercise(fut, at, what, || {}, || {}).await;
    assert!(
        reaped || at != At::AfterCompletion,
        "{what}: finished on its first poll, so it was never dropped after completion"
    );
}
