//! The live progress line: each core publishes its counts once per second (from its ticker
//! task, so the request path never touches shared memory), and a plain thread prints one
//! line to stderr each second. Shown only when stderr is a terminal and `--quiet` is not
//! given, so logs and pipes get nothing but the summary.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The counts every core publishes.
#[derive(Debug)]
pub struct Progress {
    requests: Vec<AtomicU64>,
    errors: Vec<AtomicU64>,
    done: AtomicBool,
}

impl Progress {
    /// Counters for `cores` cores.
    pub fn new(cores: usize) -> Arc<Progress> {
        Arc::new(Progress {
            requests: (0..cores).map(|_| AtomicU64::new(0)).collect(),
            errors: (0..cores).map(|_| AtomicU64::new(0)).collect(),
            done: AtomicBool::new(false),
        })
    }

    /// Core `index` has completed `requests` responses and seen `errors` errors so far.
    pub fn publish(&self, index: usize, requests: u64, errors: u64) {
        self.requests[index].store(requests, Ordering::Relaxed);
        self.errors[index].store(errors, Ordering::Relaxed);
    }

    fn totals(&self) -> (u64, u64) {
        let sum = |v: &[AtomicU64]| v.iter().map(|a| a.load(Ordering::Relaxed)).sum();
        (sum(&self.requests), sum(&self.errors))
    }

    /// Prints a line per second from `start` until [`finish`](Self::finish).
    pub fn spawn_printer(self: &Arc<Self>, start: Instant) -> thread::JoinHandle<()> {
        let me = self.clone();
        thread::spawn(move || {
            let mut last = 0;
            let mut k = 1;
            loop {
                // A moment after the cores' tickers publish second k.
                let at = start + Duration::from_secs(k) + Duration::from_millis(100);
                while Instant::now() < at {
                    if me.done.load(Ordering::Relaxed) {
                        eprint!("\r\x1b[K");
                        return;
                    }
                    thread::sleep(Duration::from_millis(50).min(at - Instant::now().min(at)));
                }
                let (requests, errors) = me.totals();
                eprint!(
                    "\r\x1b[K[{k:>4}s] {requests} responses, {} req/s, {errors} errors",
                    requests - last
                );
                let _ = std::io::stderr().flush();
                last = requests;
                k += 1;
            }
        })
    }

    /// Stops the printer.
    pub fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }
}
