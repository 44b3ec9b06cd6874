//! `timeout`: the future's output when it finishes first; otherwise `Elapsed`, with the inner
//! future dropped; either way no timer is left registered.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use coreline_runtime::core_stats;
use coreline_runtime::time::{sleep, timeout, Elapsed};

use crate::common;
use crate::support::{on_one_core, serial, DropFlag};

#[test]
fn timeout_returns_the_output_when_the_future_finishes_first() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "timeout ok");
    let (ready, slow, elapsed, timers) = on_one_core(|| async {
        let ready = timeout(Duration::ZERO, async { 5 }).await;
        let start = Instant::now();
        let slow = timeout(Duration::from_millis(200), async {
            sleep(Duration::from_millis(10)).await;
            7
        })
        .await;
        (ready, slow, start.elapsed(), core_stats().timers)
    });
    assert_eq!(ready, Ok(5), "a ready future beats even a zero timeout");
    // `Ok(7)` already says the sleep beat the 200 ms timeout.
    assert_eq!(slow, Ok(7));
    assert!(elapsed >= Duration::from_millis(10), "took {elapsed:?}");
    assert_eq!(timers, 0, "the timeout's own timer must be unregistered");
}

#[test]
fn timeout_elapses_first_and_drops_the_inner_future() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "timeout elapsed");
    let (result, elapsed, dropped, timers) = on_one_core(|| async {
        let dropped = Rc::new(Cell::new(false));
        let guard = DropFlag(dropped.clone());
        let start = Instant::now();
        let result = timeout(Duration::from_millis(20), async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
            1
        })
        .await;
        (result, start.elapsed(), dropped.get(), core_stats().timers)
    });
    assert_eq!(result, Err(Elapsed));
    // Returned at the deadline, not after the inner 10 s sleep.
    assert!(
        elapsed >= Duration::from_millis(20) && elapsed < Duration::from_secs(10),
        "took {elapsed:?}"
    );
    assert!(
        dropped,
        "the inner future must be dropped once the deadline passed"
    );
    assert_eq!(
        timers, 0,
        "the inner 10 s sleep must be unregistered when dropped"
    );
}
