//! 5,000 idle keep-alive connections cost the server under 1 KiB of RSS each, and hold no
//! receive buffer (the core's provided-buffer ring is all free while they wait). Each
//! client makes one request and then waits, so every connection has been through the
//! request path and gone back to idle (buffers returned to the pools). The same for 1,000
//! idle TLS (1.3) connections, whose cost is mostly rustls' connection state: the figures
//! are printed (`cargo test --release -p coreline-http --test idle -- --nocapture`).
//!
//! The TLS bound is on the heap the connections hold (bytes allocated and not freed,
//! counted by the test's allocator), not on RSS: RSS growth depends on what ran before in
//! this process (memory the plain test freed is reused without growing RSS), so it is
//! only bounded loosely, while the heap count is the same run alone or after the plain
//! test and is tight enough that one buffer kept per idle connection crosses it.
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
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use coreline_http::Server;
use coreline_runtime::{buf_ring_stats, core_stats, Cores};
use coreline_tls::rustls;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const CONNS: usize = 5_000;
const TLS_CONNS: usize = 1_000;
/// Heap bound for an idle TLS connection. Measured ~7.7 KB, mostly rustls' state: its
/// 4 KiB record buffer, its connection (~1.3 KiB, in the boxed `TlsStream`) and its
/// handshake bookkeeping; so even a small buffer kept per idle connection by mistake
/// (an output buffer, a TLS stream inside the task) crosses it.
const TLS_HEAP_BOUND: f64 = 8.0 * 1024.0;
/// Loose RSS bound for an idle TLS connection (the heap bound is the tight one).
const TLS_RSS_BOUND: f64 = 12.0 * 1024.0;
const CHILD_ENV: &str = "CORELINE_HTTP_IDLE_CLIENT";
/// Set for a TLS client child: the certificate to trust.
const CHILD_TLS_ENV: &str = "CORELINE_HTTP_IDLE_CA";
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
fn get(stream: &mut impl ReadWrite) {
    stream.write_all(REQUEST).unwrap();
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    while !got.ends_with(b"Hello, World!") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed");
        got.extend_from_slice(&buf[..n]);
    }
}

/// A client stream: plain TCP or rustls over TCP.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

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
        return client_child(addr.parse().unwrap(), CONNS);
    }
    let (per_conn, _) = measure(
        None,
        CONNS,
        "idle_keep_alive_connections_cost_under_1k_each",
    );
    assert!(
        per_conn < 1024.0,
        "{per_conn:.0} bytes of RSS per idle connection"
    );
}

#[test]
fn idle_tls_connections_cost_a_bounded_amount_each() {
    if let Ok(addr) = std::env::var(CHILD_ENV) {
        return client_child(addr.parse().unwrap(), TLS_CONNS);
    }
    let dir = std::env::temp_dir().join(format!("coreline-idle-tls-{}", std::process::id()));
    let (cert, key) = coreline_tls::generate_self_signed(&dir, &[]).unwrap();
    let acceptor = coreline_tls::TlsAcceptor::from_pem_files(&cert, &key).unwrap();
    let (per_conn, heap_per_conn) = measure(
        Some((acceptor, cert)),
        TLS_CONNS,
        "idle_tls_connections_cost_a_bounded_amount_each",
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        heap_per_conn < TLS_HEAP_BOUND,
        "{heap_per_conn:.0} bytes of heap per idle TLS connection"
    );
    assert!(
        per_conn < TLS_RSS_BOUND,
        "{per_conn:.0} bytes of RSS per idle TLS connection"
    );
}

/// Starts a one-core server (HTTPS if `tls` is given), opens `conns` keep-alive
/// connections from a child process, each after one request, and returns the server's
/// RSS growth and heap growth per connection; also checks that none holds a receive
/// buffer.
fn measure(
    tls: Option<(coreline_tls::TlsAcceptor, PathBuf)>,
    conns: usize,
    test_name: &str,
) -> (f64, f64) {
    // RSS is the whole process's: the two tests measure one at a time, or each would
    // count the other's connections.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    raise_nofile(conns as u64 + 1_024);
    let local = "127.0.0.1:0".parse().unwrap();
    let (builder, ca) = match tls {
        Some((acceptor, ca)) => (Server::builder().tls_listen(local, acceptor), Some(ca)),
        None => (Server::builder().listen(local), None),
    };
    let server = builder
        .cores(Cores::Count(1))
        .build(|| routes::Router::new(None, None))
        .unwrap();
    let addr = match ca {
        Some(_) => server.tls_local_addrs()[0],
        None => server.local_addrs()[0],
    };
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    assert!(handle.wait_ready(Duration::from_secs(10)));
    // Warm up: every provided receive buffer of the core's ring (1024 x 4 KiB, a fixed
    // per-core cost) gets touched once, as do the pools.
    let mut warm = connect(addr, ca.as_ref());
    for _ in 0..2_048 {
        get(&mut warm);
    }
    drop(warm);
    std::thread::sleep(Duration::from_millis(100));
    let before = rss_bytes();
    let heap = Region::new(GLOBAL);

    let started = Instant::now();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, addr.to_string());
    if let Some(ca) = &ca {
        command.env(CHILD_TLS_ENV, ca);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap());
    assert_eq!(child_line(&mut from_child), format!("ready {conns}"));
    std::thread::sleep(Duration::from_millis(100));
    let after = rss_bytes();
    let held = heap.change();
    let heap_per_conn =
        (held.bytes_allocated as f64 - held.bytes_deallocated as f64) / conns as f64;
    let per_conn = after.saturating_sub(before) as f64 / conns as f64;
    let kind = if ca.is_some() { "TLS" } else { "plain" };
    eprintln!(
        "idle: {conns} {kind} keep-alive connections in {:?}; RSS {before} -> {after} bytes \
         = {per_conn:.0} bytes per idle connection ({heap_per_conn:.0} bytes of heap)",
        started.elapsed()
    );
    // ... and none holds a receive buffer: the core's provided-buffer ring is all free.
    let runtime = handle.runtime().expect("running");
    let stats = runtime.spawn_on(0, || async { (buf_ring_stats(), core_stats().tasks) });
    let (ring, tasks) = block_on(stats).expect("stats from the server core");
    eprintln!("idle: ring {ring:?}, {tasks} tasks on the core");
    assert_eq!(ring.in_use, 0, "idle connections hold no receive buffer");
    assert!(tasks >= conns, "one task per connection: {tasks}");

    // The connections are alive and still keep-alive.
    writeln!(to_child, "ping").unwrap();
    assert_eq!(child_line(&mut from_child), "pinged");
    drop(to_child);
    assert!(child.wait().unwrap().success());
    handle.shutdown();
    thread.join().unwrap().unwrap();
    (per_conn, heap_per_conn)
}

/// A client connection, over TLS (trusting `ca`) if given.
fn connect(addr: SocketAddr, ca: Option<&PathBuf>) -> Box<dyn ReadWrite> {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let Some(ca) = ca else {
        return Box::new(s);
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in coreline_tls::load_certs(ca).unwrap() {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(coreline_tls::provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    Box::new(rustls::StreamOwned::new(conn, s))
}

fn client_child(addr: SocketAddr, conns: usize) {
    let ca = std::env::var_os(CHILD_TLS_ENV).map(PathBuf::from);
    let mut clients = Vec::with_capacity(conns);
    for _ in 0..conns {
        let mut s = connect(addr, ca.as_ref());
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
