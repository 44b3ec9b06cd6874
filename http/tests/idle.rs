//! 5,000 idle keep-alive connections cost the server under 1 KiB of RSS each, and hold no
//! receive buffer (the core's provided-buffer ring is all free while they wait). Each
//! client makes one request and then waits, so every connection has been through the
//! request path and gone back to idle (buffers returned to the pools).
//!
//! Method (as in runtime/tests/idle.rs): the server runs in this process with the binary's
//! own router; the clients are blocking sockets in a *child process* (this test binary
//! re-executed with an environment variable), so this process's VmRSS growth is the
//! server's cost alone. The baseline is taken after 2,048 warm-up requests, so the pools,
//! thread-local state and the core's provided-buffer ring (fixed per-core memory, touched
//! as its buffers cycle) are already resident.

#[path = "../src/bin/coreline/files.rs"]
#[allow(dead_code)]
mod files;
#[path = "../src/bin/coreline/routes.rs"]
mod routes;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use coreline_http::Server;
use coreline_runtime::{buf_ring_stats, core_stats, Cores};

const CONNS: usize = 5_000;
const TEST_NAME: &str = "idle_keep_alive_connections_cost_under_1k_each";
const CHILD_ENV: &str = "CORELINE_HTTP_IDLE_CLIENT";
const TAG: &str = "IDLE-CLIENT:";
const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<usize>()
        .unwrap()
        * 1024
}

fn raise_nofile(want: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < want {
        setrlimit(Resource::RLIMIT_NOFILE, want, hard.max(want))
            .or_else(|_| setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard))
            .expect("raise RLIMIT_NOFILE");
    }
}

/// One request/response on `stream`.
fn get(stream: &mut TcpStream) {
    stream.write_all(REQUEST).unwrap();
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    while !got.ends_with(b"Hello, World!") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed");
        got.extend_from_slice(&buf[..n]);
    }
}

/// Drives a future on this (non-runtime) thread.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

fn child_line(out: &mut impl BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "client child exited early"
        );
        if let Some(at) = line.find(TAG) {
            return line[at + TAG.len()..].trim().to_string();
        }
    }
}

#[test]
fn idle_keep_alive_connections_cost_under_1k_each() {
    if let Ok(addr) = std::env::var(CHILD_ENV) {
        return client_child(addr.parse().unwrap());
    }
    raise_nofile(CONNS as u64 + 1_024);
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .build(|| routes::Router::new(None))
        .unwrap();
    let addr = server.local_addrs()[0];
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    assert!(handle.wait_ready(Duration::from_secs(10)));
    // Warm up: every provided receive buffer of the core's ring (1024 x 4 KiB, a fixed
    // per-core cost) gets touched once, as do the pools.
    let mut warm = TcpStream::connect(addr).unwrap();
    for _ in 0..2_048 {
        get(&mut warm);
    }
    drop(warm);
    std::thread::sleep(Duration::from_millis(100));
    let before = rss_bytes();

    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap());
    assert_eq!(child_line(&mut from_child), format!("ready {CONNS}"));
    std::thread::sleep(Duration::from_millis(100));
    let after = rss_bytes();
    let per_conn = after.saturating_sub(before) as f64 / CONNS as f64;
    eprintln!(
        "idle: {CONNS} keep-alive connections in {:?}; RSS {before} -> {after} bytes = \
         {per_conn:.0} bytes per idle connection",
        started.elapsed()
    );
    assert!(
        per_conn < 1024.0,
        "{per_conn:.0} bytes of RSS per idle connection"
    );
    // ... and none holds a receive buffer: the core's provided-buffer ring is all free.
    let runtime = handle.runtime().expect("running");
    let stats = runtime.spawn_on(0, || async { (buf_ring_stats(), core_stats().tasks) });
    let (ring, tasks) = block_on(stats).expect("stats from the server core");
    eprintln!("idle: ring {ring:?}, {tasks} tasks on the core");
    assert_eq!(ring.in_use, 0, "idle connections hold no receive buffer");
    assert!(tasks >= CONNS, "one task per connection: {tasks}");

    // The connections are alive and still keep-alive.
    writeln!(to_child, "ping").unwrap();
    assert_eq!(child_line(&mut from_child), "pinged");
    drop(to_child);
    assert!(child.wait().unwrap().success());
    handle.shutdown();
    thread.join().unwrap().unwrap();
}

fn client_child(addr: SocketAddr) {
    let mut clients = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        get(&mut s);
        clients.push(s);
    }
    println!("{TAG} ready {}", clients.len());
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ping");
    for s in clients.iter_mut().step_by(50) {
        get(s);
    }
    println!("{TAG} pinged");
    line.clear();
    let _ = std::io::stdin().read_line(&mut line); // parent closes stdin: exit
}
