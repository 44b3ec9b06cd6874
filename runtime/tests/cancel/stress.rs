//! The stress run: random (operation, drop point) cases on fresh fixtures, checking that
//! fds, provided buffers, ring entries, timers and the heap all return to their baseline.

use std::os::fd::AsRawFd;
use std::time::Instant;

use coreline_runtime::{buf_ring_stats, core_stats, yield_now};

use crate::alloc::thread_live;
use crate::cases::KINDS;
use crate::drop_point::At;
use crate::fixtures::Fixtures;
use crate::harness::{on_core0, open_fds, serial, Rng};
use crate::io::drain_socket;
use crate::probe::settle_with;

/// Checks at a quiet point: no ops beyond the resident ones, no buffers out, no timers.
pub(crate) async fn quiesce(resident: usize, pump: impl FnMut()) {
    settle_with(resident, pump).await;
    for _ in 0..3 {
        yield_now().await;
    }
    let stats = core_stats();
    assert_eq!(stats.ops_in_flight, resident, "ops left in the ring");
    assert_eq!(stats.timers, 0, "timers left registered");
    assert_eq!(buf_ring_stats().in_use, 0, "provided buffers not returned");
}

/// Runs `iterations` random (operation, drop point) cases on fresh fixtures, checking every
/// `checkpoint` iterations that nothing accumulates. Returns how often each case ran.
pub(crate) async fn stress(iterations: u64, seed: u64, tag: u64) -> [[u64; 3]; KINDS.len()] {
    let mut rng = Rng(seed | 1);
    let mut fx = Fixtures::new(tag).await;
    let resident = fx.resident_ops;
    let tx_peer = fx.tx_peer.as_raw_fd();
    let pump = move || {
        drain_socket(tx_peer);
    };
    quiesce(resident, pump).await;
    let fds0 = open_fds();
    let heap0 = thread_live();
    let mut tally = [[0_u64; 3]; KINDS.len()];
    let checkpoint = 10_000;
    let trace = std::env::var_os("CORELINE_CANCEL_TRACE").is_some();
    for i in 0..iterations {
        let k = rng.below(KINDS.len() as u64) as usize;
        let (p, at) = match rng.below(3) {
            0 => (0, At::BeforeSubmit),
            1 => (
                1,
                At::InFlight {
                    kernel_has_it: rng.bit(),
                },
            ),
            _ => (2, At::AfterCompletion),
        };
        tally[k][p] += 1;
        if trace {
            eprintln!(
                "{i}: {:?} {at:?} (in flight {})",
                KINDS[k],
                core_stats().ops_in_flight
            );
        }
        fx.run(KINDS[k], at, &mut rng, i).await;
        assert_eq!(
            buf_ring_stats().in_use,
            0,
            "iteration {i}: {:?} at {at:?} left a provided buffer out",
            KINDS[k]
        );
        // Cancelled io-wq work (statx, openat, splice) finishes only when its worker gets
        // the CPU; keep the backlog bounded so the slot slab never has to grow.
        if core_stats().ops_in_flight > resident + 64 {
            fx.settle().await;
        }
        if (i + 1) % checkpoint == 0 {
            quiesce(resident, pump).await;
            assert_eq!(open_fds(), fds0, "iteration {i}: fds leaked");
            let grown = thread_live() - heap0;
            assert!(
                grown.abs() <= HEAP_SLACK,
                "iteration {i}: heap grew by {grown} bytes"
            );
        }
    }
    drop(fx);
    quiesce(0, || {}).await;
    tally
}

/// What the heap may differ by between two quiet points. The runtime's long-lived
/// containers (slot slab, ready queue, the timer map's root node) keep their capacity, and
/// the warm-up run has grown them to what this workload needs, so the difference measured
/// here is 0. The slack only absorbs capacity that could still end up sized differently on
/// another machine (a multishot slot's completion queue, the slab if cancelled io-wq work
/// piles up higher under load). A leak of even 8 bytes per occurrence of any one
/// (operation, drop point) case (~1,600 each in 100,000 iterations) exceeds it.
const HEAP_SLACK: isize = 4 * 1024;

#[test]
fn every_op_is_cancel_safe_at_every_drop_point() {
    let _serial = serial();
    let iterations: u64 = std::env::var("CORELINE_CANCEL_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("CORELINE_CANCEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00c0_ffee_d00d_f00d);
    eprintln!("cancel stress: {iterations} iterations, CORELINE_CANCEL_SEED={seed}");
    let started = Instant::now();
    let (tally, report) = on_core0(move || async move {
        // Warm-up: every case a few times, so lazily created structures (the slab, queues,
        // io-wq workers, the timer map's root node) exist before the baseline is taken.
        stress(3_000, seed ^ 0x5555, 0).await;
        quiesce(0, || {}).await;
        let fds0 = open_fds();
        let heap0 = thread_live();

        let tally = stress(iterations, seed, 1).await;

        quiesce(0, || {}).await;
        let fds1 = open_fds();
        let heap1 = thread_live();
        (tally, (fds0, fds1, heap0, heap1))
    });
    let (fds0, fds1, heap0, heap1) = report;
    eprintln!(
        "cancel stress: {:.1?}, fds {fds0} -> {fds1}, heap {heap0} -> {heap1}",
        started.elapsed()
    );
    for (kind, counts) in KINDS.iter().zip(&tally) {
        eprintln!(
            "  {kind:?}: before {} / in flight {} / after {}",
            counts[0], counts[1], counts[2]
        );
        if iterations >= 10_000 {
            assert!(
                counts.iter().all(|&c| c > 0),
                "{kind:?} was not exercised at every drop point: {counts:?}"
            );
        }
    }
    assert_eq!(fds1, fds0, "fds leaked");
    assert!(
        (heap1 - heap0).abs() <= HEAP_SLACK,
        "heap grew by {} bytes",
        heap1 - heap0
    );
}
