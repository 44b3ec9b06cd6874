//! TCP Fast Open end to end: `coreline-load --close --fastopen` against a coreline-http
//! server built with `Builder::tcp_fastopen`, in a private network namespace (`unshare -n`:
//! its own loopback, counters and `net.ipv4.tcp_fastopen`; the host's are never touched).
//! The namespace's `TcpExtTCPFastOpenActive`/`Passive` rise only when both sides ask for
//! Fast Open. Needs root; without it the test prints why and passes.

mod load_support;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use coreline_http::{Body, Server};
use coreline_runtime::Cores;
use http::{Request, Response};
use load_support::{load, temp_dir};

const CHILD_ENV: &str = "CORELINE_LOAD_FASTOPEN_CHILD";
const CHILD_OK: &str = "fastopen-child-ok";

#[test]
fn fastopen_data_rides_in_the_syn_only_with_both_options() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child();
    }
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: needs root for a private network namespace");
        return;
    }
    let out = Command::new("timeout")
        .args(["60", "unshare", "-n"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fastopen_data_rides_in_the_syn_only_with_both_options",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "child in netns failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// TcpExt counters of this (the child's) namespace.
fn netstat() -> HashMap<String, u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").expect("/proc/net/netstat");
    let lines: Vec<&str> = text.lines().collect();
    let pair = lines
        .chunks(2)
        .find(|p| p[0].starts_with("TcpExt:"))
        .expect("TcpExt line");
    let names = pair[0].split_whitespace().skip(1);
    let values = pair[1]
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap());
    names.map(String::from).zip(values).collect()
}

/// Runs one second of `--close` load (with `--fastopen` if asked) against a server with
/// or without `TCP_FASTOPEN`; returns (requests, Active delta, Passive delta).
fn measure(server_fastopen: bool, client_fastopen: bool) -> (u64, u64, u64) {
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::List(vec![0]))
        .tcp_fastopen(server_fastopen.then_some(64))
        .build(|| |_req: Request<Body>| async { Response::new(Body::from_static(b"hi")) })
        .expect("build server");
    let url = format!("http://{}/", server.local_addrs()[0]);
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run().expect("server run"));
    assert!(
        handle.wait_ready(Duration::from_secs(10)),
        "server not ready"
    );
    let before = netstat();
    let dir = temp_dir("fastopen");
    let mut args = vec!["-c", "1", "-d", "1", "--close", "--cpus", "1"];
    if client_fastopen {
        args.push("--fastopen");
    }
    args.push(&url);
    let run = load(&dir, &args);
    let after = netstat();
    handle.shutdown();
    thread.join().unwrap();
    let delta = |k: &str| after[k] - before[k];
    assert_eq!(run.int("errors.connect") + run.int("errors.read"), 0);
    assert_eq!(
        run.json["fastopen"],
        serde_json::Value::Bool(client_fastopen)
    );
    let r = (
        run.int("requests"),
        delta("TCPFastOpenActive"),
        delta("TCPFastOpenPassive"),
    );
    println!("server TFO {server_fastopen}, client TFO {client_fastopen}: (requests, Active, Passive) = {r:?}");
    r
}

fn child() {
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    assert!(up.is_ok_and(|s| s.success()), "ip link set lo up");
    // Client and server bits, in this namespace only.
    std::fs::write("/proc/sys/net/ipv4/tcp_fastopen", "3").expect("set tcp_fastopen");
    // Both: every connection after the first (which fetches the cookie) carries data.
    let (n, active, passive) = measure(true, true);
    assert!(n > 50, "only {n} requests");
    assert!(
        active + 1 >= n && passive + 1 >= n,
        "{n} {active} {passive}"
    );
    // The client alone, or the server alone: plain handshakes.
    let (n, active, passive) = measure(false, true);
    assert!(
        n > 50 && active == 0 && passive == 0,
        "{n} {active} {passive}"
    );
    let (n, active, passive) = measure(true, false);
    assert!(
        n > 50 && active == 0 && passive == 0,
        "{n} {active} {passive}"
    );
    println!("{CHILD_OK}");
}
