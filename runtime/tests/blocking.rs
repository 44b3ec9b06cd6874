//! `spawn_blocking`: a bounded pool, results back on the calling core, the core free
//! meanwhile, threads that start lazily and exit when idle.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coreline_runtime::{handle, spawn_blocking, time, Cores, JoinError, Runtime};

mod common;

const BOUND: usize = 8;
const JOBS: usize = 100;
const SLEEP: Duration = Duration::from_millis(20);

#[test]
fn a_hundred_blocking_sleeps_finish_on_a_bounded_pool_while_the_core_runs() {
    let _guard = common::watchdog(Duration::from_secs(60), "spawn_blocking");
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let (r, m, t) = (running.clone(), most.clone(), threads.clone());
    let (elapsed, ticks, alive_after) = Runtime::builder()
        .cores(Cores::Count(1))
        .blocking_threads(BOUND)
        .blocking_keep_alive(Duration::from_millis(200))
        .build()
        .unwrap()
        .block_on(move || async move {
            assert_eq!(handle().blocking_threads(), 0, "threads start lazily");
            let ticker = common::Ticker::start();
            let start = Instant::now();
            let jobs: Vec<_> = (0..JOBS)
                .map(|i| {
                    let (r, m, t) = (r.clone(), m.clone(), t.clone());
                    spawn_blocking(move || {
                        let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(now, Ordering::SeqCst);
                        t.lock().unwrap().insert(std::thread::current().id());
                        std::thread::sleep(SLEEP);
                        r.fetch_sub(1, Ordering::SeqCst);
                        i * 2
                    })
                })
                .collect();
            assert!(handle().blocking_threads() <= BOUND);
            for (i, job) in jobs.into_iter().enumerate() {
                assert_eq!(job.await.unwrap(), i * 2);
            }
            let elapsed = start.elapsed();
            let ticks_during = ticker.count();
            drop(ticker);
            time::sleep(Duration::from_millis(800)).await;
            (elapsed, ticks_during, handle().blocking_threads())
        })
        .unwrap();
    let most = most.load(Ordering::SeqCst);
    assert!(most <= BOUND, "{most} jobs ran at once, bound {BOUND}");
    assert_eq!(most, BOUND, "the pool grows to its bound under load");
    assert!(threads.lock().unwrap().len() <= BOUND);
    let rounds = JOBS.div_ceil(BOUND) as u32;
    assert!(
        elapsed >= SLEEP * rounds,
        "{elapsed:?}: jobs beyond the bound must queue"
    );
    assert!(
        ticks >= 40,
        "the core ran its timer task only {ticks} times in {elapsed:?}: it was blocked"
    );
    assert_eq!(alive_after, 0, "idle threads exit after the keep-alive");
}

#[test]
fn a_panicking_closure_is_reported_and_the_pool_keeps_working() {
    let out = Runtime::builder()
        .cores(Cores::Count(1))
        .blocking_threads(1)
        .build()
        .unwrap()
        .block_on(|| async {
            let failed = spawn_blocking(|| -> u8 { panic!("boom in the pool") }).await;
            let after = spawn_blocking(|| 7u8).await;
            (failed, after)
        })
        .unwrap();
    match out.0 {
        Err(JoinError::Panicked(msg)) => assert!(msg.contains("boom in the pool")),
        other => panic!("expected a panic report, got {other:?}"),
    }
    assert_eq!(out.1.unwrap(), 7);
}
