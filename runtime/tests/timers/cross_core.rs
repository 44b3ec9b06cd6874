//! Across cores: a core's entry panicking while another core is blocked stops the runtime
//! promptly, and `Handle::spawn_on` runs jobs on another core (or says it cannot).

use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use coreline_runtime::time::{sleep, timeout};
use coreline_runtime::{current_core, handle, yield_now, Error, Handle, Runtime};

use crate::common::{self, EXPECTED_PANIC};
use crate::support::{serial, two_core_runtime};

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
