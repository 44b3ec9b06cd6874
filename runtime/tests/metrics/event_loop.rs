//! The event loop's own metrics: completions per ring enter, loop lag (and no lag for a
//! core asleep in the ring), the loop clock, and nothing recorded with metrics off.

use std::io::{Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::time::{Duration, Instant};

use coreline_runtime::metrics::{local_snapshot, loop_clock_us, TICK};
use coreline_runtime::net::TcpListener;
use coreline_runtime::{handle, spawn_local, time, yield_now, Runtime};

use crate::{common, localhost};

/// Echoes one connection; a std client thread does 200 round trips through it.
#[test]
fn completions_per_enter_sampled_under_load() {
    let _w = common::watchdog(Duration::from_secs(30), "completions_per_enter");
    let snap = Runtime::builder()
        .build()
        .unwrap()
        .block_on(|| async {
            let mut listener = TcpListener::bind(localhost()).unwrap();
            let addr = listener.local_addr();
            let client = std::thread::spawn(move || {
                let mut s = StdTcpStream::connect(addr).unwrap();
                let mut buf = [0u8; 64];
                for _ in 0..200 {
                    s.write_all(&[7u8; 64]).unwrap();
                    s.read_exact(&mut buf).unwrap();
                }
            });
            let mut stream = listener.accept().await.unwrap();
            while let Ok(Some(data)) = stream.recv().await {
                let (res, _) = stream.send_all(data.to_vec()).await;
                res.unwrap();
            }
            client.join().unwrap();
            handle().metrics_snapshot().await
        })
        .unwrap();
    assert_eq!(snap.cores.len(), 1);
    assert!(snap.cores[0].enabled);
    let merged = snap.merged();
    let h = &merged.completions_per_enter;
    assert!(h.len() >= 200, "only {} enters recorded", h.len());
    assert!(h.max() >= 1, "no enter reaped anything");
}

/// A task that blocks the core for 30 ms makes the loop notice a tick at least 30 ms − TICK
/// late; a core that sleeps in the ring through ticks reports no such lag.
#[test]
fn loop_lag_shows_a_blocked_core() {
    const IDLE: Duration = Duration::from_millis(60);
    const BLOCK: Duration = Duration::from_millis(30);
    let _w = common::watchdog(Duration::from_secs(30), "loop_lag");
    let (idle, blocked) = Runtime::builder()
        .build()
        .unwrap()
        .block_on(|| async {
            time::sleep(IDLE).await;
            let idle = local_snapshot().histograms.loop_lag_us;
            // A timer due just after the block starts is late by nearly the whole block;
            // one due just before it ends, by almost nothing. So start blocking shortly
            // before a tick: spin (yielding, so the loop keeps running) until a new lag
            // sample appears, then until 2 ms before the next one is due.
            let seen = idle.len();
            while local_snapshot().histograms.loop_lag_us.len() == seen {
                yield_now().await;
            }
            let ticked = Instant::now();
            while ticked.elapsed() < TICK - Duration::from_millis(2) {
                yield_now().await;
            }
            spawn_local(async { std::thread::sleep(BLOCK) })
                .await
                .unwrap();
            time::sleep(Duration::from_millis(20)).await;
            (idle, local_snapshot().histograms.loop_lag_us)
        })
        .unwrap();
    // The core slept in the ring through ticks while waiting for the 60 ms timer: that is
    // idleness, not lag. Counted as lag, it would be most of the sleep; a loaded machine
    // adds only the delay of waking the thread, far less.
    assert!(!idle.is_empty(), "no lag sample after a 60 ms sleep");
    assert!(
        u128::from(idle.max()) < IDLE.as_micros() / 2,
        "idle core reported {} µs lag",
        idle.max()
    );
    // The alignment above makes the lag nearly the whole block; whatever the alignment (a
    // descheduled thread may start the block late), the first tick due during the block
    // is due within TICK of its start, so it is at least BLOCK − TICK late.
    assert!(
        u128::from(blocked.max()) >= (BLOCK - TICK).as_micros(),
        "max lag {} µs after blocking {BLOCK:?}",
        blocked.max()
    );
}

#[test]
fn metrics_off_records_nothing() {
    let _w = common::watchdog(Duration::from_secs(30), "metrics_off");
    let snap = Runtime::builder()
        .metrics(false)
        .build()
        .unwrap()
        .block_on(|| async {
            for _ in 0..5 {
                time::sleep(Duration::from_millis(15)).await;
            }
            handle().metrics_snapshot().await
        })
        .unwrap();
    assert_eq!(snap.cores.len(), 1);
    assert!(!snap.cores[0].enabled);
    let merged = snap.merged();
    assert_eq!(merged.completions_per_enter.len(), 0);
    assert_eq!(merged.loop_lag_us.len(), 0);
}

/// The loop clock moves with the loop (read once per iteration, after the reap), and
/// stays 0 with metrics off.
#[test]
fn loop_clock_advances_per_iteration_and_is_off_without_metrics() {
    let _w = common::watchdog(Duration::from_secs(30), "loop_clock");
    let (a, b, same) = Runtime::builder()
        .build()
        .unwrap()
        .block_on(|| async {
            time::sleep(Duration::from_millis(1)).await;
            let a = loop_clock_us();
            let same = loop_clock_us(); // no loop iteration in between
            time::sleep(Duration::from_millis(20)).await;
            (a, loop_clock_us(), same)
        })
        .unwrap();
    assert!(a > 0);
    assert_eq!(a, same);
    assert!(
        b - a >= 19_000,
        "clock moved {} µs across a 20 ms sleep",
        b - a
    );
    let off = Runtime::builder()
        .metrics(false)
        .build()
        .unwrap()
        .block_on(|| async {
            time::sleep(Duration::from_millis(5)).await;
            loop_clock_us()
        })
        .unwrap();
    assert_eq!(off, 0);
}
