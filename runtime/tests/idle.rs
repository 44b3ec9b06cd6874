//! 10,000 idle connections hold no receive buffer each (provided-buffer ring occupancy stays
//! at zero while every connection has its multishot recv armed), and the server's RSS grows
//! by less than 1 KiB per idle connection.
//!
//! Method: the server runtime runs in this process; the 10,000 clients are plain blocking
//! sockets in a *child process* (this same test binary, re-executed with an environment
//! variable that turns the test into the client side). So the VmRSS growth of this process
//! is the server's cost alone: the client `TcpStream`s, their `Vec` and the client's stack
//! live in the other process, and socket buffers are kernel memory that is in neither RSS.
//! The baseline is taken with the server listening and idle, before the child starts.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{
    buf_ring_stats, core_stats, handle, spawn_local, time, BufRingStats, CoreStats, Cores, Handle,
    Runtime,
};

const CONNS: usize = 10_000;
/// Connections the child opens before waiting until the server has accepted them all, so
/// the accept queue (somaxconn, default 4096) never overflows into 1 s SYN retransmits.
const BATCH: usize = 1_000;
/// Clients that send one byte after the measurement, to show the connections are live.
const PINGS: usize = 100;
const TEST_NAME: &str = "idle_connections_hold_no_buffer_and_under_1k_rss_each";
const CHILD_ENV: &str = "CORELINE_IDLE_TEST_CLIENT";
const CHILD_TAG: &str = "IDLE-CLIENT:";

/// The per-connection task: echo whatever arrives. While idle it is parked in `recv`, whose
/// multishot receive is armed without a buffer.
async fn conn(mut stream: TcpStream) {
    while let Ok(Some(data)) = stream.recv().await {
        let bytes = data.to_vec();
        drop(data);
        if stream.send_all(bytes).await.0.is_err() {
            break;
        }
    }
}

struct Server {
    accepted: AtomicUsize,
    stop: AtomicBool,
}

/// Stats of the server core, read on that core.
fn stats(handle: &Handle) -> (BufRingStats, CoreStats) {
    common::block_on(handle.spawn_on(0, || async { (buf_ring_stats(), core_stats()) }))
        .expect("stats task on the server core")
}

/// A line from the child, skipping the test harness's own output.
fn child_line(out: &mut impl BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read child stdout");
        assert!(n > 0, "client child exited early (see its stderr above)");
        // The harness prints "test NAME ... " without a newline before the test's output.
        if let Some(at) = line.find(CHILD_TAG) {
            return line[at + CHILD_TAG.len()..].trim().to_string();
        }
    }
}

#[test]
fn idle_connections_hold_no_buffer_and_under_1k_rss_each() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return client_child(&spec);
    }
    let _watchdog = common::watchdog(Duration::from_secs(120), "idle test");
    // The server holds one fd per connection, and so does the child, which inherits the
    // limit. (Raising the hard limit needs CAP_SYS_RESOURCE, so ask only for what is needed.)
    common::raise_nofile(CONNS as u64 + 1_024);

    let server = Arc::new(Server {
        accepted: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let (tx, rx) = mpsc::channel::<(SocketAddr, Handle)>();
    let rt = Runtime::builder()
        .cores(Cores::Count(1))
        .thread_name("idle-server")
        .build()
        .expect("server runtime");
    let server_thread = {
        let server = server.clone();
        std::thread::spawn(move || {
            rt.run(|_| {
                let server = server.clone();
                let tx = tx.clone();
                async move {
                    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
                    tx.send((listener.local_addr(), handle())).unwrap();
                    let acceptor = {
                        let server = server.clone();
                        spawn_local(async move {
                            loop {
                                let stream = listener.accept().await?;
                                server.accepted.fetch_add(1, Ordering::SeqCst);
                                spawn_local(conn(stream));
                            }
                            #[allow(unreachable_code)]
                            Ok::<(), std::io::Error>(())
                        })
                    };
                    while !server.stop.load(Ordering::SeqCst) && !acceptor.is_finished() {
                        time::sleep(Duration::from_millis(5)).await;
                    }
                    if acceptor.is_finished() {
                        acceptor.await.map_err(std::io::Error::other)??;
                    }
                    Ok::<(), std::io::Error>(())
                }
            })
        })
    };
    let (addr, handle) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server did not start");

    let (ring0, core0) = stats(&handle);
    let rss_before = common::rss_bytes();

    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("current_exe"))
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{addr} {CONNS}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the client child");
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap());

    // Open the connections batch by batch, each batch fully accepted before the next.
    let mut opened = 0;
    while opened < CONNS {
        let line = child_line(&mut from_child);
        opened = line
            .strip_prefix("connected ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected child line '{line}'"));
        assert!(
            common::wait_until(Duration::from_secs(20), || {
                server.accepted.load(Ordering::SeqCst) >= opened
            }),
            "server accepted {} of {opened} connections",
            server.accepted.load(Ordering::SeqCst)
        );
        writeln!(to_child, "go").unwrap();
    }
    let connect_time = started.elapsed();
    assert_eq!(server.accepted.load(Ordering::SeqCst), CONNS);

    // Every connection task has been polled once (the stats task is queued behind them),
    // so each is parked in recv with its multishot receive armed.
    let (ring, core) = stats(&handle);
    let rss_after = common::rss_bytes();
    let growth = rss_after.saturating_sub(rss_before);
    let per_conn = growth as f64 / CONNS as f64;
    eprintln!(
        "idle: {CONNS} connections in {connect_time:?}; ring {ring:?} (before {ring0:?}); \
         core {core:?} (before {core0:?}); RSS {rss_before} -> {rss_after} bytes = \
         {per_conn:.0} bytes per idle connection"
    );
    assert_eq!(
        ring.in_use, 0,
        "idle connections must hold no provided receive buffer"
    );
    assert!(
        core.tasks >= core0.tasks + CONNS && core.tasks <= core0.tasks + CONNS + 2,
        "expected one task per connection: {core:?} vs {core0:?} before"
    );
    assert!(
        core.ops_in_flight >= core0.ops_in_flight + CONNS,
        "expected a multishot recv armed per idle connection: {core:?} vs {core0:?} before"
    );
    assert!(
        per_conn < 1024.0,
        "RSS grew by {growth} bytes for {CONNS} idle connections ({per_conn:.0} B each)"
    );

    // The connections are live: some clients send a byte and get it echoed.
    writeln!(to_child, "ping").unwrap();
    let line = child_line(&mut from_child);
    assert_eq!(line, format!("pinged {PINGS}"), "child: {line}");
    let (ring, _) = stats(&handle);
    assert_eq!(
        ring.in_use, 0,
        "buffers used for the pings went back to the ring"
    );

    // Closing the clients ends every connection task.
    drop(to_child);
    let status = child.wait().expect("wait for the child");
    assert!(status.success(), "client child failed: {status}");
    let mut last = core;
    assert!(
        common::wait_until(Duration::from_secs(20), || {
            last = stats(&handle).1;
            last.tasks == core0.tasks
        }),
        "connection tasks left after the clients closed: {last:?} vs {core0:?} before"
    );

    server.stop.store(true, Ordering::SeqCst);
    let out = server_thread.join().expect("server thread");
    let out = out.expect("server runtime");
    assert!(out[0].is_ok(), "server core failed: {:?}", out[0]);
}

/// The client side, in the child process: open the connections in batches, then answer
/// the parent's commands on stdin until it closes it.
fn client_child(spec: &str) {
    let (addr, count) = spec.split_once(' ').expect("ADDR COUNT");
    let addr: SocketAddr = addr.parse().expect("address");
    let count: usize = count.parse().expect("count");
    let mut stdin = std::io::stdin().lock();
    let mut command = String::new();
    let mut next_command = move || {
        command.clear();
        stdin.read_line(&mut command).expect("read stdin");
        command.trim().to_string()
    };
    let mut clients = Vec::with_capacity(count);
    while clients.len() < count {
        for _ in 0..BATCH.min(count - clients.len()) {
            let stream = StdTcpStream::connect_timeout(&addr, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("connect #{}: {e}", clients.len()));
            clients.push(stream);
        }
        println!("{CHILD_TAG} connected {}", clients.len());
        assert_eq!(next_command(), "go");
    }
    loop {
        match next_command().as_str() {
            "" => return, // parent closed stdin: close everything
            "ping" => {
                let step = count / PINGS;
                let mut ok = 0;
                for (i, stream) in clients.iter_mut().step_by(step).enumerate() {
                    let byte = [(i % 251) as u8];
                    stream.write_all(&byte).expect("ping write");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let mut back = [0u8];
                    stream.read_exact(&mut back).expect("ping echo");
                    assert_eq!(back, byte, "client {i} got a wrong echo");
                    ok += 1;
                }
                println!("{CHILD_TAG} pinged {ok}");
            }
            other => panic!("unknown command '{other}'"),
        }
    }
}
