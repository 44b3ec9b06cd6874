//! `coreline serve --proxy PREFIX=URL` with real peers: curl and Python clients through
//! the proxy to a Python `http.server` upstream and to coreline itself; the fields a proxy
//! removes and adds; and upstreams that are down, slow, busy or send smuggling-shaped
//! responses.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/served.rs"]
mod served;

mod failures;
mod fields;
mod peers;

/// The binary tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use served::Served;

/// A Python upstream (`tests/scripts/proxy_upstream.py`), killed on drop.
pub struct Python {
    child: Child,
    /// Its loopback port.
    pub port: u16,
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the Python upstream and waits for its port.
pub fn start_python() -> Python {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/proxy_upstream.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the script prints its port");
    Python { child, port }
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
