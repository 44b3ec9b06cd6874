//! `coreline serve --proxy PREFIX=URL` with real peers: curl and Python clients through
//! the proxy to a Python `http.server` upstream and to coreline itself; the fields a proxy
//! removes and adds; upstreams that are down, slow, busy or send smuggling-shaped
//! responses; large bodies spliced socket to socket; and WebSocket upgrades passed through.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/python_upstream.rs"]
mod python_upstream;
#[path = "../common/served.rs"]
mod served;

mod early_answer;
mod failures;
mod fields;
mod peers;
mod splice;
mod websocket;

/// The binary tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

pub use python_upstream::Python;
use served::Served;

/// The Python upstream that echoes the fields it received (`tests/scripts/proxy_upstream.py`).
pub fn start_python() -> Python {
    python_upstream::start("proxy_upstream.py")
}

/// `coreline serve` with these `--proxy` rules and other flags.
pub fn proxy(rules: &[String], extra: &[&str]) -> Served {
    let mut args: Vec<String> = Vec::new();
    for rule in rules {
        args.extend(["--proxy".to_owned(), rule.clone()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Served::start(&args, Stdio::null)
}

/// A raw upstream: on each connection (a thread each) it reads a request head, then runs
/// `answer` on the stream.
pub fn peer(answer: impl Fn(&mut TcpStream) + Send + Clone + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                answer(&mut stream);
            });
        }
    });
    addr
}

/// One request on a new connection; the response.
pub fn one(addr: SocketAddr, raw: &str) -> common::Resp {
    common::one(addr, raw.as_bytes()).0
}

/// Runs `program` with `args`; its stdout (it must succeed).
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
