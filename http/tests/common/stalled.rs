//! Clients that stop reading, for the receive-buffer attack tests and the
//! `hostile_buffers` example (which runs the same attacks against any server, nginx
//! included): connections with a 4 KiB receive window that pipeline requests and never
//! read, or read a few bytes now and then; and a fresh client timing its requests
//! meanwhile.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use coreline_http::ServerHandle;
use nix::sys::socket::{connect, setsockopt, socket, sockopt};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn};

/// The receive buffer each attacking connection asks for before it connects, so that one
/// response fills its window and the server's send waits.
pub const ATTACK_RCVBUF: usize = 4096;

/// Opens `n` connections to `addr` (IPv4) with `SO_RCVBUF` set to [`ATTACK_RCVBUF`]
/// before the connect (the window scale is fixed at the handshake).
pub fn connect_small_window(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let SocketAddr::V4(v4) = addr else {
        panic!("the attack clients speak IPv4");
    };
    (0..n)
        .map(|_| {
            let fd = socket(
                AddressFamily::Inet,
                SockType::Stream,
                SockFlag::SOCK_CLOEXEC,
                None,
            )
            .expect("socket");
            setsockopt(&fd, sockopt::RcvBuf, &ATTACK_RCVBUF).expect("SO_RCVBUF");
            connect(fd.as_raw_fd(), &SockaddrIn::from(v4)).expect("connect");
            let c = TcpStream::from(fd);
            c.set_nodelay(true).unwrap();
            c.set_nonblocking(true).unwrap();
            c
        })
        .collect()
}

/// Each connection sends up to `bytes` of pipelined `GET path` requests (without blocking:
/// a few passes, stopping at a connection whose send buffer is full) and reads nothing.
/// Returns the bytes sent in all.
pub fn pipeline_without_reading(conns: &mut [TcpStream], path: &str, bytes: usize) -> usize {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let batch: Vec<u8> = request
        .as_bytes()
        .iter()
        .copied()
        .cycle()
        .take(bytes / request.len() * request.len())
        .collect();
    let mut sent = vec![0usize; conns.len()];
    for _pass in 0..4 {
        for (c, done) in conns.iter_mut().zip(sent.iter_mut()) {
            while *done < batch.len() {
                match c.write(&batch[*done..]) {
                    Ok(n) => *done += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => break, // closed by the server: it may
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    sent.iter().sum()
}

/// Reads `bytes` from every connection every `every` until `stop` is set (a slow reader
/// that keeps its connection alive); returns the connections when stopped.
pub fn trickle_reads(
    mut conns: Vec<TcpStream>,
    bytes: usize,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Vec<TcpStream>> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; bytes];
        while !stop.load(Ordering::Relaxed) {
            for c in &mut conns {
                let _ = c.read(&mut buf);
            }
            let until = Instant::now() + every;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        conns
    })
}

/// Latencies (µs, sorted) of `n` sequential keep-alive `GET path` requests on a new
/// connection, each read to the end of its `Content-Length` body with status 200; an
/// error names the first request that failed.
pub fn fresh_latencies(addr: SocketAddr, path: &str, n: usize) -> Result<Vec<u64>, String> {
    let mut c = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    c.set_nodelay(true).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(4096);
    for i in 0..n {
        let t = Instant::now();
        c.write_all(request.as_bytes())
            .map_err(|e| format!("request {i}: send: {e}"))?;
        read_response(&mut c, &mut buf).map_err(|e| format!("request {i}: {e}"))?;
        out.push(t.elapsed().as_micros() as u64);
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads one response with a `Content-Length` body into `buf`; fails unless it is a 200.
fn read_response(c: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let got = c.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if got == 0 {
            return Err("closed before the response head".into());
        }
        buf.extend_from_slice(&chunk[..got]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(format!("not a 200: {head:?}"));
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no content-length: {head:?}"))?;
    while buf.len() < head_end + length {
        let got = c.read(&mut chunk).map_err(|e| format!("read body: {e}"))?;
        if got == 0 {
            return Err("closed inside the body".into());
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    Ok(())
}

/// The 99th percentile of sorted latencies.
pub fn p99(sorted: &[u64]) -> u64 {
    sorted[sorted.len() * 99 / 100]
}

/// The p99 a fresh client may see under attack: 20 ms, or five times the p99 measured
/// before the attack on a machine loaded by other work (a server starved of receive
/// buffers shows hundreds of ms).
pub fn p99_bound(baseline_p99_us: u64) -> u64 {
    20_000u64.max(5 * baseline_p99_us)
}

/// Samples the server's `ring_buffers_in_use` (the highest core) on a thread until stopped.
pub struct BufferWatch {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

impl BufferWatch {
    pub fn start(handle: ServerHandle) -> BufferWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let (max, total) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (s, m, t) = (Arc::clone(&stop), Arc::clone(&max), Arc::clone(&total));
        let thread = std::thread::spawn(move || {
            let sample = || {
                let snap = handle
                    // A liveness bound, not a latency one: under CPU hogs and 1,000
                    // attackers a snapshot has taken over 5 s to come back.
                    .metrics_snapshot_blocking(Duration::from_secs(30))
                    .expect("the core answers with its metrics");
                for c in &snap.cores {
                    m.fetch_max(c.buffers.in_use, Ordering::Relaxed);
                    t.store(c.buffers.total, Ordering::Relaxed);
                }
            };
            sample();
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(25));
                sample();
            }
            sample();
        });
        BufferWatch {
            stop,
            max,
            total,
            thread,
        }
    }

    /// Stops sampling; the highest count seen and the ring's size.
    pub fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        (
            self.max.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}
