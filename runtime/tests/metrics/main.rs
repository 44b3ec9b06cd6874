//! Runtime metrics: completions per ring enter, event-loop lag, metrics off, a listener's
//! accept-queue depth (TCP_INFO) and the kernel's listen counters, the latter provoked in
//! a private network namespace so that nothing else on the host moves them.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use coreline_runtime::metrics::{local_snapshot, loop_clock_us, ListenCounters, TICK};
use coreline_runtime::net::{ListenOptions, TcpListener};
use coreline_runtime::{handle, spawn_local, time, yield_now, Runtime};

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

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

/// Ten connections into a listener (backlog 16) that never accepts: depth 10, backlog 16.
#[test]
fn queue_info_reports_depth_and_backlog() {
    let _w = common::watchdog(Duration::from_secs(30), "queue_info");
    let info = Runtime::builder()
        .build()
        .unwrap()
        .block_on(|| async {
            let options = ListenOptions {
                backlog: 16,
                reuse_port: false,
                ..ListenOptions::default()
            };
            let listener = TcpListener::bind_with(localhost(), &options).unwrap();
            let addr = listener.local_addr();
            let empty = listener.queue_info().unwrap();
            assert_eq!(empty.depth, 0);
            let conns: Vec<_> = (0..10)
                .map(|_| StdTcpStream::connect(addr).unwrap())
                .collect();
            let start = Instant::now();
            let mut info = listener.queue_info().unwrap();
            while info.depth < 10 && start.elapsed() < Duration::from_secs(2) {
                time::sleep(Duration::from_millis(5)).await;
                info = listener.queue_info().unwrap();
            }
            // The probe reads the same queue from another thread, and keeps the socket
            // until it is dropped.
            let probe = listener.queue_probe().unwrap();
            let seen = std::thread::spawn(move || probe.read().unwrap())
                .join()
                .unwrap();
            assert_eq!(seen, info);
            drop(conns);
            info
        })
        .unwrap();
    assert_eq!(info.depth, 10);
    assert_eq!(info.backlog, 16);
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

const FIXTURE: &str = "\
TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPReqQFullDoCookies TCPReqQFullDrop
TcpExt: 3 1 17 19 2 5
IpExt: InNoRoutes ListenOverflows
IpExt: 0 999
";

#[test]
fn listen_counters_parse_fixture_and_this_machine() {
    let c = ListenCounters::parse(FIXTURE).unwrap();
    assert_eq!(c.syncookies_sent, 3);
    assert_eq!(c.listen_overflows, 17);
    assert_eq!(c.listen_drops, 19);
    assert_eq!(c.req_q_full_do_cookies, 2);
    assert_eq!(c.req_q_full_drop, 5);
    let later = ListenCounters {
        listen_overflows: 20,
        ..c
    };
    let d = later.delta(&c);
    assert_eq!(d.listen_overflows, 3);
    assert_eq!(d.listen_drops, 0);
    assert_eq!(c.delta(&later).listen_overflows, 0, "delta saturates");
    assert!(ListenCounters::parse("Ip: a\nIp: 1\n").is_err());
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap();
    assert!(text.contains("ListenOverflows"));
    let now = ListenCounters::read().unwrap();
    assert!(now.listen_drops >= now.listen_overflows);
}

const NETNS_ENV: &str = "CORELINE_METRICS_NETNS_CHILD";
const NETNS_OK: &str = "netns-overflow-child-ok";

/// Re-runs this test inside `unshare -n` (a fresh network namespace with its own
/// /proc/net/netstat and default sysctls; the host's are never touched). There a listener
/// with backlog 4 that never accepts gets a burst of 64 connects: its queue fills and the
/// namespace's ListenOverflows counter moves.
#[test]
fn listen_overflows_in_private_netns() {
    if std::env::var_os(NETNS_ENV).is_some() {
        return netns_child();
    }
    let _w = common::watchdog(Duration::from_secs(60), "netns overflow");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .arg("-n")
        .arg(&exe)
        .args(["--exact", "listen_overflows_in_private_netns"])
        .args(["--nocapture", "--test-threads=1"])
        .env(NETNS_ENV, "1")
        .output()
        .expect("run unshare (util-linux); this test needs root for a network namespace");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(NETNS_OK),
        "child in netns failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

fn netns_child() {
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("run ip");
    assert!(up.success(), "ip link set lo up failed");
    let before = ListenCounters::read().unwrap();
    let depth = Runtime::builder()
        .build()
        .unwrap()
        .block_on(|| async {
            let options = ListenOptions {
                backlog: 4,
                reuse_port: false,
                ..ListenOptions::default()
            };
            let listener = TcpListener::bind_with(localhost(), &options).unwrap();
            let addr = listener.local_addr();
            // The burst: 64 concurrent connects, each given up after 300 ms (a dropped SYN
            // is retried only after 1 s).
            let clients: Vec<_> = (0..64)
                .map(|_| {
                    std::thread::spawn(move || {
                        StdTcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()
                    })
                })
                .collect();
            let conns: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
            let depth = listener.queue_info().unwrap().depth;
            drop(conns);
            depth
        })
        .unwrap();
    let delta = ListenCounters::read().unwrap().delta(&before);
    println!("depth {depth}, delta {delta:?}");
    assert!(depth > 0, "accept queue depth {depth}");
    assert!(delta.listen_overflows > 0, "no ListenOverflows: {delta:?}");
    println!("{NETNS_OK}");
}
