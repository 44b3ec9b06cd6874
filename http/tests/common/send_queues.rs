//! What a server's connections hold in the kernel's send queues: the `tx_queue` column of
//! `/proc/net/tcp` (bytes written but not yet acknowledged by the peer, sent or not) summed
//! over the sockets with a given local port, sampled on a thread; and the host's TCP
//! memory from `/proc/net/sockstat`, for the record.
//!
//! The per-port sum is what a test can hold a server to: it counts only that server's
//! sockets. `sockstat`'s `mem` is one counter for every TCP socket of the host (of every
//! network namespace), so other processes' traffic moves it too.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Sockets with local port `port` and the sum of their `tx_queue`s, in bytes (IPv4 and
/// IPv6 tables; a table that cannot be read counts as empty).
pub fn queued_on_port(port: u16) -> (usize, u64) {
    let (mut sockets, mut bytes) = (0, 0);
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut fields = line.split_whitespace();
            // "sl local_address rem_address st tx_queue:rx_queue ..."
            let (Some(local), Some(queues)) = (fields.nth(1), fields.nth(2)) else {
                continue;
            };
            let local_port = local.rsplit(':').next().map(|p| u16::from_str_radix(p, 16));
            if local_port != Some(Ok(port)) {
                continue;
            }
            let tx = queues.split(':').next().map(|q| u64::from_str_radix(q, 16));
            if let Some(Ok(tx)) = tx {
                sockets += 1;
                bytes += tx;
            }
        }
    }
    (sockets, bytes)
}

/// The host's TCP memory in pages (`TCP: ... mem N` of `/proc/net/sockstat`), if readable.
pub fn host_tcp_mem_pages() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    let tcp = text.lines().find(|l| l.starts_with("TCP:"))?;
    let mut words = tcp.split_whitespace();
    words.find(|w| *w == "mem")?;
    words.next()?.parse().ok()
}

/// The highest values seen by a [`QueueWatch`].
#[derive(Debug, Clone, Copy)]
pub struct QueuePeak {
    /// The largest sum of the port's send queues, in bytes.
    pub bytes: u64,
    /// The number of sockets in that sample.
    pub sockets: usize,
    /// The largest host TCP memory, in pages.
    pub host_pages: u64,
}

/// Samples [`queued_on_port`] and [`host_tcp_mem_pages`] every 100 ms until stopped.
pub struct QueueWatch {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<QueuePeak>,
}

impl QueueWatch {
    pub fn start(port: u16) -> QueueWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peak = QueuePeak {
                bytes: 0,
                sockets: 0,
                host_pages: 0,
            };
            let sample = |peak: &mut QueuePeak| {
                let (sockets, bytes) = queued_on_port(port);
                if bytes >= peak.bytes {
                    (peak.bytes, peak.sockets) = (bytes, sockets);
                }
                peak.host_pages = peak.host_pages.max(host_tcp_mem_pages().unwrap_or(0));
            };
            while !done.load(Ordering::Relaxed) {
                sample(&mut peak);
                std::thread::sleep(Duration::from_millis(100));
            }
            sample(&mut peak);
            peak
        });
        QueueWatch { stop, thread }
    }

    /// Stops sampling; the peaks.
    pub fn stop(self) -> QueuePeak {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}
