//! Tasks on one core: `spawn_local` and its `JoinHandle`, detached tasks, a panicking task
//! (`JoinError::Panicked`) and `abort` (`JoinError::Aborted`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use coreline_runtime::time::sleep;
use coreline_runtime::{core_stats, spawn_local, yield_now, JoinError};

use crate::common::{self, EXPECTED_PANIC};
use crate::support::{on_one_core, serial, DropFlag};

#[test]
fn spawn_local_join_handle_gives_the_output_and_detached_tasks_run() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "spawn_local");
    let (out, nested, finished_before, finished_after, detached_ran, tasks) =
        on_one_core(|| async {
            let h = spawn_local(async {
                sleep(Duration::from_millis(5)).await;
                let inner = spawn_local(async { Rc::new(21) }); // !Send output is fine
                format!("answer {}", *inner.await.unwrap() * 2)
            });
            let finished_before = h.is_finished();
            let nested = spawn_local(async { spawn_local(async { 3 }).await.unwrap() + 1 });
            let out = h.await;
            let nested = nested.await;

            // Dropping a JoinHandle detaches its task; it still runs to the end.
            let ran = Rc::new(Cell::new(false));
            let flag = ran.clone();
            let detached = spawn_local(async move {
                sleep(Duration::from_millis(5)).await;
                flag.set(true);
            });
            let quick = spawn_local(async {});
            yield_now().await;
            yield_now().await;
            let finished_after = quick.is_finished();
            drop(detached);
            sleep(Duration::from_millis(30)).await;
            (
                out.ok(),
                nested.ok(),
                finished_before,
                finished_after,
                ran.get(),
                core_stats().tasks,
            )
        });
    assert_eq!(out.as_deref(), Some("answer 42"));
    assert_eq!(nested, Some(4));
    assert!(!finished_before, "a task cannot be finished before it ran");
    assert!(finished_after, "is_finished after the task completed");
    assert!(detached_ran, "a detached task must keep running");
    assert_eq!(tasks, 1, "only the entry task is left");
}

#[test]
fn a_panicking_task_gives_join_error_panicked_and_the_core_goes_on() {
    let _serial = serial();
    common::quiet_expected_panics();
    let _watchdog = common::watchdog(Duration::from_secs(30), "task panic");
    let (result, unwound, later, tasks) = on_one_core(|| async {
        let unwound = Rc::new(Cell::new(false));
        let guard = DropFlag(unwound.clone());
        let h = spawn_local(async move {
            let _guard = guard;
            sleep(Duration::from_millis(1)).await;
            if std::hint::black_box(true) {
                panic!("task exploded {} {EXPECTED_PANIC}", 42);
            }
            1u32
        });
        let result = h.await;
        let later = spawn_local(async { 2u32 }).await;
        (result, unwound.get(), later.ok(), core_stats().tasks)
    });
    match result {
        Err(JoinError::Panicked(msg)) => assert!(msg.contains("task exploded 42"), "{msg}"),
        other => panic!("expected JoinError::Panicked, got {other:?}"),
    }
    assert!(unwound, "the panicking task's locals must be dropped");
    assert_eq!(
        later,
        Some(2),
        "the core keeps running tasks after a task panicked"
    );
    assert_eq!(tasks, 1);
}

#[test]
fn abort_gives_join_error_aborted_and_drops_the_task() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "abort");
    let (result, dropped, reached_end, timers_before, timers_after, elapsed, done) =
        on_one_core(|| async {
            let dropped = Rc::new(Cell::new(false));
            let reached_end = Rc::new(Cell::new(false));
            let (guard, end) = (DropFlag(dropped.clone()), reached_end.clone());
            let start = Instant::now();
            let h = spawn_local(async move {
                let _guard = guard;
                sleep(Duration::from_secs(10)).await;
                end.set(true);
            });
            yield_now().await; // let it start and register its timer
            let timers_before = core_stats().timers;
            h.abort();
            let result = h.await;
            let timers_after = core_stats().timers;
            let elapsed = start.elapsed();

            // Aborting a task that already finished leaves its output alone.
            let done = spawn_local(async { 9 });
            yield_now().await;
            done.abort();
            let done = done.await;
            (
                result,
                dropped.get(),
                reached_end.get(),
                timers_before,
                timers_after,
                elapsed,
                done.ok(),
            )
        });
    assert!(
        matches!(result, Err(JoinError::Aborted)),
        "expected Aborted, got {result:?}"
    );
    assert!(dropped, "an aborted task's future must be dropped");
    assert!(!reached_end, "an aborted task must not run on");
    assert_eq!(
        (timers_before, timers_after),
        (1, 0),
        "its sleep must go with it"
    );
    // Returned at the abort, not after the task's 10 s sleep.
    assert!(elapsed < Duration::from_secs(10), "abort took {elapsed:?}");
    assert_eq!(done, Some(9));
}
