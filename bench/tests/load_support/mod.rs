//! Servers and helpers for the coreline-load tests: a coreline-http server that counts
//! requests (and can stall its core once), raw scripted TCP servers for framing and
//! connection behaviour, a coreline-tls server that counts resumed handshakes, a real
//! nginx, and a runner for the binary that returns its JSON.

#![allow(dead_code)] // each test uses part of it

pub mod nginx;
pub mod raw;
pub mod tls;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use coreline_http::{Body, Server, ServerHandle};
use coreline_runtime::Cores;
use http::{Request, Response};

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coreline-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A loopback port nobody listens on (bound, then released).
pub fn dead_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// What one run of the binary gave.
pub struct Run {
    pub output: Output,
    pub json: serde_json::Value,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    /// An integer field of the JSON, e.g. `"requests"` or `"errors.connect"`.
    pub fn int(&self, path: &str) -> u64 {
        let mut v = &self.json;
        for key in path.split('.') {
            v = &v[key];
        }
        v.as_u64()
            .unwrap_or_else(|| panic!("{path} missing in {}", self.json))
    }
    /// A latency figure in µs (`"p99"`, `"max"`, ...).
    pub fn latency(&self, key: &str) -> f64 {
        self.json["latency_us"][key]
            .as_f64()
            .expect("latency figure")
    }
}

/// Runs `coreline-load ARGS --json DIR/out.json --quiet` (bounded by the run itself) and
/// returns its output and JSON.
pub fn load(dir: &std::path::Path, args: &[&str]) -> Run {
    let json_path = dir.join("out.json");
    let _ = std::fs::remove_file(&json_path);
    let output = Command::new(env!("CARGO_BIN_EXE_coreline-load"))
        .args(args)
        .arg("--json")
        .arg(&json_path)
        .arg("--quiet")
        .stdin(Stdio::null())
        .output()
        .expect("run coreline-load");
    let text = std::fs::read_to_string(&json_path).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); exit {:?}, stderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let json = serde_json::from_str(&text).expect("valid JSON");
    Run { output, json }
}

/// An in-process coreline-http server on CPU 0 answering `Hello, World!` and counting
/// requests; if `stall_at` is set, the request with that number blocks its core for
/// `stall` (like a GC pause: every connection on the core waits).
pub struct Counting {
    pub addr: SocketAddr,
    pub count: Arc<AtomicU64>,
    pub stalled: Arc<AtomicBool>,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Counting {
    pub fn start(stall_at: Option<u64>, stall: Duration) -> Counting {
        let count = Arc::new(AtomicU64::new(0));
        let stalled = Arc::new(AtomicBool::new(false));
        let (c, s) = (count.clone(), stalled.clone());
        let server = Server::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .cores(Cores::List(vec![0]))
            .build(move || {
                let (c, s) = (c.clone(), s.clone());
                move |_req: Request<Body>| {
                    let n = c.fetch_add(1, Ordering::Relaxed) + 1;
                    if Some(n) == stall_at {
                        thread::sleep(stall);
                        s.store(true, Ordering::Relaxed);
                    }
                    async { Response::new(Body::from_static(b"Hello, World!")) }
                }
            })
            .expect("build server");
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let thread = thread::spawn(move || server.run().expect("server run"));
        assert!(
            handle.wait_ready(Duration::from_secs(10)),
            "server not ready"
        );
        Counting {
            addr,
            count,
            stalled,
            handle,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
