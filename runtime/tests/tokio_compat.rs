//! `tokio_compat::TokioBridge`: futures that need a tokio runtime, awaited on a core that
//! keeps running meanwhile; panics and cancellation across the handoff.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coreline_runtime::tokio_compat::TokioBridge;
use coreline_runtime::{spawn_local, time, Cores, Runtime};

mod common;

fn one_core() -> Runtime {
    Runtime::builder().cores(Cores::Count(1)).build().unwrap()
}

#[test]
fn tokio_sleeps_finish_while_the_core_runs_its_other_tasks() {
    let _guard = common::watchdog(Duration::from_secs(30), "tokio sleeps");
    let tokio = TokioBridge::start().unwrap();
    let (outputs, ticks, elapsed) = one_core()
        .block_on(move || async move {
            let ticker = common::Ticker::start();
            let start = Instant::now();
            // Ten 50 ms tokio sleeps at once: they overlap on the tokio worker.
            let calls: Vec<_> = (0..10u32)
                .map(|i| {
                    tokio.run(async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        i * 3
                    })
                })
                .collect();
            let mut outputs = Vec::new();
            for call in calls {
                outputs.push(call.await);
            }
            let elapsed = start.elapsed();
            let ticks = ticker.count();
            drop(ticker);
            (outputs, ticks, elapsed)
        })
        .unwrap();
    assert_eq!(outputs, (0..10).map(|i| i * 3).collect::<Vec<_>>());
    assert!(elapsed >= Duration::from_millis(50));
    assert!(
        elapsed < Duration::from_millis(450),
        "sleeps overlapped: {elapsed:?}"
    );
    // The core's own 2 ms timer kept firing while it awaited the tokio calls.
    assert!(ticks >= 5, "the core ran {ticks} ticks during {elapsed:?}");
}

/// Sets its flag when dropped: tells that the tokio task was dropped (aborted).
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_core_side_future_aborts_the_tokio_task() {
    let _guard = common::watchdog(Duration::from_secs(30), "tokio abort");
    let tokio = TokioBridge::start().unwrap();
    let (dropped, finished) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (d, f, seen) = (dropped.clone(), finished.clone(), dropped.clone());
    one_core()
        .block_on(move || async move {
            let call = tokio.run(async move {
                let _flag = DropFlag(d);
                tokio::time::sleep(Duration::from_secs(5)).await;
                f.store(true, Ordering::SeqCst);
            });
            // Dropped before it finishes: cancelled by the coreline-side timeout.
            assert!(time::timeout(Duration::from_millis(20), call)
                .await
                .is_err());
            let start = Instant::now();
            while !seen.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(5) {
                time::sleep(Duration::from_millis(1)).await;
            }
        })
        .unwrap();
    assert!(
        dropped.load(Ordering::SeqCst),
        "the tokio task was not dropped"
    );
    assert!(
        !finished.load(Ordering::SeqCst),
        "the tokio task ran to its end"
    );
}

#[test]
fn a_panic_comes_back_as_an_error_from_spawn_and_resumes_from_run() {
    let _guard = common::watchdog(Duration::from_secs(30), "tokio panic");
    let tokio = TokioBridge::start().unwrap();
    let (spawned, ran) = one_core()
        .block_on(move || async move {
            let spawned = tokio.spawn(async { panic!("upstream broke") }).await;
            let ran = spawn_local(tokio.run(async { panic!("upstream broke again") })).await;
            (
                spawned.unwrap_err().is_panic(),
                ran.unwrap_err().to_string(),
            )
        })
        .unwrap();
    assert!(spawned);
    assert!(ran.contains("upstream broke again"), "{ran}");
}

#[test]
fn a_bridge_to_the_embedders_runtime_runs_there() {
    let _guard = common::watchdog(Duration::from_secs(30), "tokio from_handle");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("embedders-tokio")
        .enable_time()
        .build()
        .unwrap();
    let tokio = TokioBridge::from_handle(runtime.handle().clone());
    let thread = one_core()
        .block_on(move || async move {
            tokio
                .run(async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    std::thread::current().name().map(str::to_string)
                })
                .await
        })
        .unwrap();
    assert_eq!(thread.as_deref(), Some("embedders-tokio"));
}
