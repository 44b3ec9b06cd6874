//! Graceful shutdown under keep-alive load: 20 clients make requests in a loop on
//! keep-alive connections, the `coreline` binary gets SIGTERM mid-run, five times. No
//! client may see a reset or lose a request: each request is answered, or (if it crossed
//! the server's close) meets a clean EOF; reconnects after the listener closed are refused
//! by the kernel, and the client stops there.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "common/served.rs"]
mod served;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use served::Served;

const CLIENTS: usize = 20;
const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

/// What the clients saw in one run.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    /// A clean EOF instead of the next response (the request crossed the close).
    eof: AtomicU64,
    resets: AtomicU64,
    /// Anything else: a truncated or malformed response, a timeout.
    failed: AtomicU64,
}

enum Outcome {
    Answered { close: bool },
    Eof,
    Reset,
    Failed(String),
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}

/// Sends one request and reads its response.
fn request(c: &mut TcpStream) -> Outcome {
    if let Err(e) = c.write_all(GET) {
        return if is_reset(&e) {
            Outcome::Reset
        } else {
            Outcome::Failed(e.to_string())
        };
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = match c.read(&mut buf) {
            Ok(n) => n,
            Err(e) if is_reset(&e) => return Outcome::Reset,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        if n == 0 {
            return match got.is_empty() {
                true => Outcome::Eof,
                false => Outcome::Failed(format!("truncated: {got:?}")),
            };
        }
        got.extend_from_slice(&buf[..n]);
        let Some(end) = common::find(&got, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(usize::MAX);
        if got.len() >= end + 4 + length {
            if !head.starts_with("http/1.1 200") {
                return Outcome::Failed(head);
            }
            return Outcome::Answered {
                close: head.contains("connection: close"),
            };
        }
    }
}

/// One client: keep-alive requests in a loop, reconnecting when told to close or on EOF,
/// until a connect is refused (the server is gone) or `stop`.
fn client(addr: SocketAddr, stop: &AtomicBool, tally: &Tally) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut c) = TcpStream::connect(addr) else {
            return;
        };
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        loop {
            match request(&mut c) {
                Outcome::Answered { close } => {
                    tally.answered.fetch_add(1, Ordering::Relaxed);
                    if close {
                        break;
                    }
                }
                Outcome::Eof => {
                    tally.eof.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Outcome::Reset => {
                    tally.resets.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Outcome::Failed(why) => {
                    eprintln!("client failed: {why}");
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
        }
    }
}

fn one_run(run: usize) {
    let mut served = Served::start(&["--drain-timeout", "10"], Stdio::null);
    let addr = served.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, tally) = (stop.clone(), tally.clone());
            thread::spawn(move || client(addr, &stop, &tally))
        })
        .collect();
    thread::sleep(Duration::from_millis(400));
    let pid = Pid::from_raw(served.child.id() as i32);
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let status = served.child.wait().expect("the server exits");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    eprintln!(
        "run {run}: answered {}, clean EOF {}, resets {}, failed {}; server {status}",
        get(&tally.answered),
        get(&tally.eof),
        get(&tally.resets),
        get(&tally.failed)
    );
    assert!(
        status.success(),
        "the server exits 0 after SIGTERM: {status}"
    );
    assert!(get(&tally.answered) > 0, "the load ran");
    assert_eq!(get(&tally.resets), 0, "no client sees a reset");
    assert_eq!(get(&tally.failed), 0, "no request fails");
}

#[test]
fn sigterm_under_keep_alive_load_resets_nothing() {
    for run in 1..=5 {
        one_run(run);
    }
}
