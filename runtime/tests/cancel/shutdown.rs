//! Runtime teardown: dropping a runtime with operations of every kind in flight returns
//! promptly, frees every buffer the operations own, and leaks neither fds nor heap.

use std::io::Write;
use std::net::TcpListener as StdListener;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coreline_runtime::net::TcpListener;
use coreline_runtime::{core_stats, ops, spawn_local, time, yield_now};

use crate::alloc::PROCESS_LIVE;
use crate::fixtures::PIPE_CAPACITY;
use crate::harness::{localhost, on_core0, open_fds, serial};
use crate::io::{fill_socket, pipe_pair, set_sock_buf, stream_pair, with_dup};
use crate::probe::futures_join;
use crate::tracked::{TrackLog, Tracked};

#[test]
fn dropping_the_runtime_with_ops_in_flight_returns_and_frees_everything() {
    let _serial = serial();
    // Run 0 warms process-wide lazies (thread-spawn machinery, io-wq); the heap is compared
    // across the following runs. The figure is process-wide (the core thread is gone when we
    // look), so a little slack covers the test harness's own threads; a leak of even 8
    // bytes per abandoned op adds up beyond it over the runs.
    const RUNS: usize = 16;
    let mut heap0 = 0;
    for run in 0..=RUNS {
        if run == 1 {
            heap0 = PROCESS_LIVE.load(Ordering::SeqCst);
        }
        let fds0 = open_fds();
        let log = Arc::new(TrackLog::default());
        let started = Instant::now();
        let spawned = {
            let log = log.clone();
            on_core0(move || async move { park_ops_in_flight(&log).await })
        };
        let elapsed = started.elapsed();
        // The drain cancels everything; had it given up (its deadline is 5 s) it would leak
        // the buffers rather than free them under the kernel, which the count catches.
        assert!(
            elapsed < Duration::from_secs(3),
            "shutdown took {elapsed:?}"
        );
        assert_eq!(
            log.drops.load(Ordering::SeqCst),
            spawned,
            "buffers of in-flight ops were not freed at shutdown"
        );
        assert_eq!(open_fds(), fds0, "fds leaked by the runtime's shutdown");
    }
    let grown = PROCESS_LIVE.load(Ordering::SeqCst) - heap0;
    assert!(
        grown.abs() <= 1024,
        "heap grew by {grown} bytes over {RUNS} runtimes"
    );
}

/// Spawns tasks whose ops wait in the kernel forever, lets them get there, and returns
/// (ending the runtime) with all of them in flight. Returns how many `Tracked` buffers the
/// ops own.
pub(crate) async fn park_ops_in_flight(log: &Arc<TrackLog>) -> usize {
    let mut tracked = 0;
    let pairs = StdListener::bind(localhost()).unwrap();

    // Multishot accept with nothing to accept.
    let mut listener = TcpListener::bind(localhost()).unwrap();
    spawn_local(async move {
        let _ = listener.accept().await;
    });
    // Multishot recv on an idle connection.
    let (mut s, peer) = stream_pair(&pairs).await;
    spawn_local(async move {
        let _peer = peer;
        let _ = s.recv().await;
    });
    // Single-shot recv into a tracked buffer.
    let (s, peer) = stream_pair(&pairs).await;
    let buf = Tracked::for_read(4096, log);
    tracked += 1;
    spawn_local(async move {
        let _peer = peer;
        let _ = s.read(buf).await;
    });
    // SEND_ZC and vectored send waiting for socket space.
    let (s, peer) = stream_pair(&pairs).await;
    set_sock_buf(s.as_raw_fd(), libc::SO_SNDBUF, 4096);
    fill_socket(s.as_raw_fd());
    let zc = coreline_runtime::ring_info().send_zc;
    let (a, b) = (Tracked::for_send(8192, log), Tracked::for_send(8192, log));
    tracked += 2;
    spawn_local(async move {
        let _peer = peer;
        if zc {
            let (_, _) = futures_join(s.send_zc(a), s.send_vectored(vec![b])).await;
        } else {
            drop(a);
            let _ = s.send_vectored(vec![b]).await;
        }
    });
    // Read from an empty pipe (poll-driven) and write into a full one.
    let (r, w) = pipe_pair();
    let buf = Tracked::for_read(4096, log);
    tracked += 1;
    spawn_local(async move {
        let _w = w;
        let _ = ops::read_at(&r, buf, u64::MAX).await;
    });
    let (r, w) = pipe_pair();
    let (w, mut fw) = with_dup(w);
    fw.write_all(&vec![0; PIPE_CAPACITY]).unwrap();
    let buf = Tracked::for_send(4096, log);
    tracked += 1;
    spawn_local(async move {
        let (_r, _fw) = (r, fw);
        let _ = ops::write_at(&w, buf, u64::MAX).await;
    });
    // splice from an empty pipe: blocks inside an io-wq worker.
    let (ar, aw) = pipe_pair();
    let (br, bw) = pipe_pair();
    spawn_local(async move {
        let (_aw, _br) = (aw, br);
        let _ = ops::splice(&ar, None, &bw, None, 4096).await;
    });
    // Kernel timeout and runtime timer.
    spawn_local(async {
        let _ = ops::timeout_op(Duration::from_secs(3600)).await;
    });
    spawn_local(async {
        time::sleep(Duration::from_secs(3600)).await;
    });
    // Let everything reach the kernel (and the io-wq worker block in the splice).
    for _ in 0..4 {
        yield_now().await;
    }
    time::sleep(Duration::from_millis(5)).await;
    assert!(
        core_stats().ops_in_flight >= 8,
        "ops should be in flight: {:?}",
        core_stats()
    );
    assert_eq!(log.drops.load(Ordering::SeqCst), 0);
    tracked
}
