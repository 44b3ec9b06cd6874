//! Runs the receive-buffer attacks against any HTTP/1.1 server on 127.0.0.1 and prints a
//! Markdown table row: 1,000 connections with a 4 KiB receive window pipeline 32 KiB of
//! `GET PATH` and never read (`stalled`), or read 16 bytes per second (`slow-file`), while
//! a fresh connection makes 200 sequential `GET /plaintext` requests. With a metrics
//! address (coreline's `--metrics`), it also samples `coreline_ring_buffers_in_use`.
//!
//! ```text
//! cargo run --release -p coreline-http --example hostile_buffers -- \
//!     stalled|slow-file ADDR PATH [METRICS_ADDR]
//! ```

#[path = "../tests/common/stalled.rs"]
mod stalled;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ATTACKERS: usize = 1_000;
const FRESH_REQUESTS: usize = 200;
const PIPELINED: usize = 32 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: hostile_buffers stalled|slow-file ADDR PATH [METRICS_ADDR]");
        std::process::exit(2);
    }
    let (attack, path) = (args[0].as_str(), args[2].as_str());
    let addr: SocketAddr = args[1].parse().expect("ADDR is host:port");
    let metrics: Option<SocketAddr> = args.get(3).map(|a| a.parse().expect("METRICS_ADDR"));
    let _ =
        nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 20_000, 20_000);

    let baseline = stalled::fresh_latencies(addr, "/plaintext", FRESH_REQUESTS).unwrap();
    let mut conns = stalled::connect_small_window(addr, ATTACKERS);
    stalled::pipeline_without_reading(&mut conns, path, PIPELINED);
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = (attack == "slow-file")
        .then(|| stalled::trickle_reads(conns, 16, Duration::from_secs(1), stop.clone()));
    let watch = metrics.map(|m| BuffersInUse::start(m, stop.clone()));
    let attacked = stalled::fresh_latencies(addr, "/plaintext", FRESH_REQUESTS);
    stop.store(true, Ordering::Relaxed);
    let in_use = watch.map(BuffersInUse::max);
    drop(trickle.map(|t| t.join().unwrap()));

    let ms = |us: u64| format!("{:.2}", us as f64 / 1000.0);
    let during = match &attacked {
        Ok(l) => format!(
            "{} | {} | {} | 0",
            ms(l[l.len() / 2]),
            ms(stalled::p99(l)),
            ms(l[l.len() - 1])
        ),
        Err(e) => format!("- | - | - | failed: {e}"),
    };
    println!(
        "| {attack} | {} | {during} | {} |",
        ms(stalled::p99(&baseline)),
        in_use.map_or("n/a".to_string(), |n| n.to_string())
    );
}

/// Samples `coreline_ring_buffers_in_use` from a `/metrics` endpoint until stopped.
struct BuffersInUse {
    max: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

impl BuffersInUse {
    fn start(addr: SocketAddr, stop: Arc<AtomicBool>) -> BuffersInUse {
        let max = Arc::new(AtomicUsize::new(0));
        let seen = max.clone();
        let thread = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(n) = scrape(addr) {
                    seen.fetch_max(n, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        BuffersInUse { max, thread }
    }

    fn max(self) -> usize {
        self.thread.join().unwrap();
        self.max.load(Ordering::Relaxed)
    }
}

/// The highest core's `coreline_ring_buffers_in_use` in one scrape.
fn scrape(addr: SocketAddr) -> Option<usize> {
    let mut c = TcpStream::connect(addr).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    c.read_to_string(&mut text).ok()?;
    text.lines()
        .filter(|l| l.starts_with("coreline_ring_buffers_in_use{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as usize)
        .max()
}
