//! Timers (ordering, `timeout`, `interval`, sleep latency) and the task/core machinery
//! around them: `spawn_local` + `JoinHandle`, panics, `abort`, a core panicking while
//! another is blocked, and `Handle::spawn_on`.

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{Rng, EXPECTED_PANIC};
use coreline_runtime::time::{interval, sleep, sleep_until, timeout, Elapsed};
use coreline_runtime::{
    core_stats, current_core, handle, spawn_local, yield_now, Cores, Error, Handle, JoinError,
    Runtime,
};

/// The tests measure latencies: run them one at a time even under a parallel harness.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `entry` as the only task of a one-core runtime and returns its output.
fn on_one_core<F, Fut>(entry: F) -> Fut::Output
where
    F: Fn() -> Fut + Sync,
    Fut: Future + 'static,
    Fut::Output: Send,
{
    let rt = Runtime::builder().cores(Cores::Count(1)).build().unwrap();
    rt.run(|_| entry()).expect("runtime").remove(0)
}

fn two_core_runtime() -> Runtime {
    let rt = Runtime::builder().cores(Cores::All).build().unwrap();
    assert!(
        rt.cpus().len() >= 2,
        "this test needs at least 2 CPUs, has {:?}",
        rt.cpus()
    );
    rt
}

/// Sets its flag when dropped: shows that a future was dropped (and when).
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn many_timers_wake_in_deadline_order_and_never_early() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(60), "many timers");
    const PER_CORE: usize = 5_000;
    const MAX_DELAY_US: u64 = 200_000;
    let rt = two_core_runtime();
    let per_core = rt
        .run(|core| async move {
            // (deadline, woke at) in the order the tasks woke up.
            let log: Rc<RefCell<Vec<(Instant, Instant)>>> = Rc::default();
            // Deadlines count from a common base set after all tasks are spawned, so every
            // timer is registered before the first one is due and the wake order must be
            // the deadline order (not the spawn order).
            let base: Rc<Cell<Option<Instant>>> = Rc::default();
            let mut rng = Rng::new(core.index as u64 + 1);
            let handles: Vec<_> = (0..PER_CORE)
                .map(|_| {
                    let delay = Duration::from_micros(rng.range(0, MAX_DELAY_US));
                    let (log, base) = (log.clone(), base.clone());
                    spawn_local(async move {
                        let deadline = base.get().expect("base set") + delay;
                        sleep_until(deadline).await;
                        log.borrow_mut().push((deadline, Instant::now()));
                    })
                })
                .collect();
            let base_at = Instant::now() + Duration::from_millis(100);
            base.set(Some(base_at));
            yield_now().await; // every spawned task runs (and registers its timer) first
            let registered = core_stats().timers;
            let registered_by = Instant::now();
            for h in handles {
                h.await.expect("timer task");
            }
            let timers_after = core_stats().timers;
            let log = Rc::try_unwrap(log).unwrap().into_inner();
            (registered, registered_by < base_at, timers_after, log)
        })
        .expect("runtime");
    for (core, (registered, in_time, timers_after, log)) in per_core.into_iter().enumerate() {
        assert_eq!(registered, PER_CORE, "core {core}: timers registered");
        assert!(
            in_time,
            "core {core}: registering {PER_CORE} timers took over 100 ms"
        );
        assert_eq!(timers_after, 0, "core {core}: timers left registered");
        assert_eq!(log.len(), PER_CORE);
        let mut max_late = Duration::ZERO;
        for (i, &(deadline, woke)) in log.iter().enumerate() {
            assert!(woke >= deadline, "core {core}: timer {i} woke early");
            max_late = max_late.max(woke - deadline);
            if i > 0 {
                assert!(
                    log[i - 1].0 <= deadline,
                    "core {core}: wake #{i} has an earlier deadline than wake #{}",
                    i - 1
                );
            }
        }
        eprintln!("core {core}: {PER_CORE} timers in deadline order, max lateness {max_late:?}");
        // Loose: each loop iteration fires every due timer, so lateness is one iteration.
        assert!(
            max_late < Duration::from_millis(100),
            "core {core}: a timer fired {max_late:?} late"
        );
    }
}

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
    assert_eq!(slow, Ok(7));
    assert!(
        elapsed >= Duration::from_millis(10) && elapsed < Duration::from_millis(200),
        "took {elapsed:?}"
    );
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
    assert!(
        elapsed >= Duration::from_millis(20) && elapsed < Duration::from_secs(1),
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

#[test]
fn interval_ticks_on_a_fixed_grid_and_skips_missed_ticks() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "interval");
    const PERIOD: Duration = Duration::from_millis(10);
    const TICKS: u32 = 20;
    let (created, ticks, blocked_until, late, after) = on_one_core(|| async {
        let created = Instant::now();
        let mut iv = interval(PERIOD);
        let mut ticks = Vec::new();
        for _ in 0..TICKS {
            let due = iv.tick().await;
            ticks.push((due, Instant::now()));
        }
        // Keep the core busy for 3.5 periods: the overdue tick comes at once, the ones
        // missed meanwhile are skipped rather than delivered in a burst.
        std::thread::sleep(PERIOD * 7 / 2);
        let blocked_until = Instant::now();
        let late = iv.tick().await;
        let after_due = iv.tick().await;
        (
            created,
            ticks,
            blocked_until,
            late,
            (after_due, Instant::now()),
        )
    });
    let first = ticks[0].0;
    assert!(
        first >= created + PERIOD,
        "the first tick is one period out"
    );
    let mut lateness = Vec::new();
    for (k, &(due, woke)) in ticks.iter().enumerate() {
        assert_eq!(
            due,
            first + PERIOD * k as u32,
            "tick {k} drifted off the grid"
        );
        assert!(woke >= due, "tick {k} came early");
        lateness.push(woke - due);
    }
    let last_woke = ticks.last().unwrap().1;
    let total = last_woke - created;
    let med = median(&mut lateness);
    let max = *lateness.last().unwrap();
    eprintln!(
        "interval: {TICKS} ticks of {PERIOD:?} in {total:?}; lateness median {med:?}, max {max:?}"
    );
    assert!(
        med < Duration::from_millis(5),
        "median tick lateness {med:?}"
    );
    assert!(
        total < PERIOD * TICKS + Duration::from_millis(25),
        "{TICKS} ticks took {total:?}: the interval drifts"
    );
    let last_due = ticks.last().unwrap().0;
    assert_eq!(
        late,
        last_due + PERIOD,
        "the overdue tick is delivered once"
    );
    let (after_due, after_woke) = after;
    assert!(
        after_due > blocked_until,
        "ticks missed while blocked were burst instead of skipped"
    );
    assert_eq!(
        (after_due - first).as_nanos() % PERIOD.as_nanos(),
        0,
        "after skipping, ticks stay on the grid"
    );
    assert!(
        after_woke >= after_due,
        "the tick after the skip came early"
    );
}

#[test]
fn sleep_10ms_wakes_between_10_and_15ms() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "sleep latency");
    let mut took = on_one_core(|| async {
        let mut took = Vec::new();
        for _ in 0..20 {
            let start = Instant::now();
            sleep(Duration::from_millis(10)).await;
            took.push(start.elapsed());
        }
        took
    });
    eprintln!("sleep(10 ms) took {took:?}");
    for t in &took {
        assert!(
            *t >= Duration::from_millis(10),
            "a 10 ms sleep woke early: {t:?}"
        );
    }
    // The issue asks for wakes between 10 and 15 ms. Every wake must be on time; the upper
    // bound is asserted on the median, with a looser cap on the maximum, because a loaded
    // CI box may deschedule the core's thread now and then (the runtime cannot prevent
    // that; a timer that is systematically late shows up in the median).
    let med = median(&mut took);
    let max = *took.last().unwrap();
    assert!(
        med <= Duration::from_millis(15),
        "median 10 ms sleep took {med:?}"
    );
    assert!(
        max <= Duration::from_millis(25),
        "slowest 10 ms sleep took {max:?}"
    );
}

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
    assert!(elapsed < Duration::from_secs(1), "abort took {elapsed:?}");
    assert_eq!(done, Some(9));
}

/// Runs `rt` on a thread and waits at most `limit` for `Runtime::run` to return.
fn run_bounded<F, Fut>(rt: Runtime, limit: Duration, entry: F) -> Result<Vec<Fut::Output>, Error>
where
    F: Fn(coreline_runtime::CoreId) -> Fut + Sync + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(rt.run(entry));
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("Runtime::run did not return within {limit:?}: it hangs"))
}

#[test]
fn a_panicking_core_entry_stops_the_runtime_promptly() {
    let _serial = serial();
    common::quiet_expected_panics();
    let _watchdog = common::watchdog(Duration::from_secs(30), "core panic");
    let rt = two_core_runtime();
    let cpu0 = rt.cpus()[0];
    let start = Instant::now();
    // Core 1 blocks forever in io_uring_enter (no timer, no I/O); core 0 panics.
    let result = run_bounded(rt, Duration::from_secs(10), |core| async move {
        if core.index == 0 {
            sleep(Duration::from_millis(20)).await;
            panic!("core zero failed {EXPECTED_PANIC}");
        }
        std::future::pending::<()>().await;
    });
    let elapsed = start.elapsed();
    match result {
        Err(Error::CorePanicked { core, cpu, message }) => {
            assert_eq!((core, cpu), (0, cpu0));
            assert!(message.contains("core zero failed"), "{message}");
        }
        other => panic!("expected Error::CorePanicked, got {other:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(2),
        "stopping took {elapsed:?}"
    );

    // A panic in the entry function itself (before any future exists) is reported too.
    let rt = two_core_runtime();
    let cpu1 = rt.cpus()[1];
    let result = run_bounded(rt, Duration::from_secs(10), |core| {
        assert!(core.index != 1, "entry of core one failed {EXPECTED_PANIC}");
        std::future::pending::<()>()
    });
    match result {
        Err(Error::CorePanicked { core, cpu, message }) => {
            assert_eq!((core, cpu), (1, cpu1));
            assert!(message.contains("entry of core one failed"), "{message}");
        }
        other => panic!("expected Error::CorePanicked, got {other:?}"),
    }
}

#[test]
fn handle_spawn_on_runs_on_the_other_core_and_returns_the_output() {
    let _serial = serial();
    common::quiet_expected_panics();
    let _watchdog = common::watchdog(Duration::from_secs(30), "spawn_on");
    let rt = two_core_runtime();
    let cpus = rt.cpus().to_vec();
    let done = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<Handle>();
    let tx = Mutex::new(tx);
    let outside = std::thread::spawn({
        // From a thread outside the runtime, through a Handle sent out of it.
        let done = done.clone();
        move || {
            let handle = rx.recv().unwrap();
            let out = common::block_on(handle.spawn_on(1, || async {
                sleep(Duration::from_millis(1)).await;
                current_core().index
            }));
            let panicked = common::block_on(handle.spawn_on(1, || async {
                if std::hint::black_box(true) {
                    panic!("remote task failed {EXPECTED_PANIC}");
                }
            }));
            done.store(true, Ordering::SeqCst);
            (out, panicked)
        }
    });
    let results = rt
        .run(|core| {
            let done = done.clone();
            let tx = tx.lock().unwrap().clone();
            async move {
                if core.index == 1 {
                    // Stay alive to serve spawn_on until everyone is done.
                    while !done.load(Ordering::SeqCst) {
                        sleep(Duration::from_millis(1)).await;
                    }
                    return None;
                }
                let h = handle();
                let (cores, cpu_of_1) = (h.cores(), h.cpu_of(1));
                let out = h
                    .spawn_on(1, || async {
                        let rc = Rc::new(5); // a !Send future, built on core 1
                        yield_now().await;
                        (current_core(), *rc * 2)
                    })
                    .await;
                tx.send(h).unwrap();
                Some((cores, cpu_of_1, out))
            }
        })
        .expect("runtime");
    let (cores, cpu_of_1, out) = results.into_iter().next().flatten().expect("core 0 output");
    assert_eq!(cores, cpus.len());
    assert_eq!(cpu_of_1, cpus[1]);
    let (id, value) = out.expect("spawn_on output");
    assert_eq!((id.index, id.cpu, value), (1, cpus[1], 10));
    let (outside_out, panicked) = outside.join().expect("outside thread");
    assert_eq!(outside_out, Some(1), "spawn_on from a plain thread");
    assert_eq!(panicked, None, "a panicked remote task resolves to None");
}

#[test]
fn spawn_on_a_finished_core_resolves_to_none_instead_of_hanging() {
    let _serial = serial();
    let _watchdog = common::watchdog(Duration::from_secs(30), "spawn_on finished core");
    let rt = two_core_runtime();
    let mut out = rt
        .run(|core| async move {
            if core.index == 0 {
                return None; // core 0 stops at once
            }
            sleep(Duration::from_millis(50)).await;
            let h = handle();
            let r = timeout(Duration::from_secs(5), h.spawn_on(0, || async { 1 })).await;
            Some((r, h))
        })
        .expect("runtime");
    let (result, handle) = out.pop().flatten().expect("core 1 output");
    assert_eq!(
        result,
        Ok(None),
        "a job for a core that has stopped can never run: its handle must say so"
    );
    // The same after the whole runtime has ended, from a plain thread.
    assert_eq!(common::block_on(handle.spawn_on(1, || async { 2 })), None);
}
