//! Runtime metrics: completions per ring enter, event-loop lag, metrics off, a listener's
//! accept-queue depth (TCP_INFO) and the kernel's listen counters, the latter provoked in
//! a private network namespace so that nothing else on the host moves them.
//!
//! `event_loop`: completions per enter, loop lag, loop clock, metrics off. This file: the
//! listener's queue and the kernel's listen counters (the netns test re-runs itself by its
//! name, so it stays at the top level).

#[path = "../common/mod.rs"]
mod common;
mod event_loop;

use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use coreline_runtime::metrics::ListenCounters;
use coreline_runtime::net::{ListenOptions, TcpListener};
use coreline_runtime::{time, Runtime};

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Ten connections into a listener (backlog 16) that never accepts: depth 10, backlog 16.
#[test]
fn queue_info_reports_depth_and_backlog() {
    let _w = common::watchdog(Duration::from_secs(30), "queue_info");
    let info = Runtime::builder()
        .build()
        .unwrap()
        .block_on(|| async {
            let options = ListenOptions::default().backlog(16).reuse_port(false);
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
            let options = ListenOptions::default().backlog(4).reuse_port(false);
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
