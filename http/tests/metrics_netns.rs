//! Accept-queue depth and listen overflows in `/metrics`, provoked in a private network
//! namespace (`unshare -n`: its own loopback, counters and default sysctls; the host's
//! are never touched): a listener with backlog 16 whose core is kept busy by a handler
//! that blocks it, and a burst of 64 connections meanwhile. Needs root; without it the
//! test prints why and passes.

mod common;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use coreline_http::{recycle, response, Body, Server};
use coreline_runtime::Cores;
use http::{Request, Response, StatusCode};

use common::metrics::{fetch_metrics, histogram, parse_prometheus, sample, start_observed};
use common::Client;

const CHILD_ENV: &str = "CORELINE_HTTP_METRICS_NETNS_CHILD";
const CHILD_OK: &str = "metrics-netns-child-ok";

#[test]
fn busy_core_shows_queue_depth_and_listen_overflows() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child();
    }
    if !is_root() {
        println!("skipped: creating a network namespace needs root");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("timeout")
        .arg("60")
        .arg("unshare")
        .arg("-n")
        .arg(&exe)
        .args([
            "--exact",
            "busy_core_shows_queue_depth_and_listen_overflows",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "child in netns failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Whether the effective uid is 0 (from /proc: no unsafe `geteuid` outside the runtime).
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    euid == Some("0")
}

/// `/block/N` blocks the core's thread for N ms (what a CPU-bound handler does to it).
async fn blocking(req: Request<Body>) -> Response<Body> {
    let ms = req
        .uri()
        .path()
        .strip_prefix("/block/")
        .and_then(|n| n.parse().ok());
    recycle(req);
    if let Some(ms) = ms {
        std::thread::sleep(Duration::from_millis(ms));
    }
    response(StatusCode::OK, Body::from_static(b"ok"))
}

fn burst(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let clients: Vec<_> = (0..n)
        .map(|_| {
            std::thread::spawn(move || {
                // A dropped SYN is retried only after 1 s: give up before that.
                TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()
            })
        })
        .collect();
    clients
        .into_iter()
        .filter_map(|c| c.join().unwrap())
        .collect()
}

fn child() {
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("run ip");
    assert!(up.success(), "ip link set lo up failed");
    let builder = Server::builder().cores(Cores::Count(1)).backlog(16);
    let (server, admin) = start_observed(builder, || blocking);
    // Block the core for 1.5 s; the sampler thread reads the queue every 100 ms meanwhile.
    let mut busy = Client::connect(server.addr);
    busy.send(b"GET /block/1500 HTTP/1.1\r\nHost: x\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let held = burst(server.addr, 64);
    println!(
        "{} of 64 connects completed in {:?}",
        held.len(),
        started.elapsed()
    );
    assert_eq!(busy.response(false).status, 200);
    drop(held);

    let m = parse_prometheus(&fetch_metrics(admin.addr));
    let depth_max = sample(&m, "coreline_accept_queue_depth_max{core=\"0\"}");
    // Samples above 0 are those past the bucket `le="0"`.
    let depth = histogram(&m, "coreline_accept_queue_depth", "0");
    let depth_p99 = depth.last().unwrap().1 - depth[0].1;
    let overflows = sample(&m, "coreline_listen_overflows_total{}");
    let backlog = sample(&m, "coreline_listen_backlog{core=\"0\"}");
    println!("depth max {depth_max}, samples above 0: {depth_p99}, overflows {overflows}, backlog {backlog}");
    assert_eq!(backlog, 16.0);
    assert!(
        depth_max > 0.0 && depth_p99 > 0.0,
        "no depth sample above 0"
    );
    assert!(depth_max <= 17.0, "depth {depth_max} beyond backlog 16 + 1");
    assert!(overflows > 0.0, "no ListenOverflows delta");
    println!("{CHILD_OK}");
}
