//! `Builder::listener_mode`: `steered` sends each new connection to the core with fewer
//! open connections, another core serves the connections sent to a core that stopped
//! running, and a core that accepts connections while it lags hands them to the other
//! core; `shared` serves one socket, closed at shutdown; and a `steered` server the
//! kernel refuses the program to (capabilities dropped) warns once and runs as
//! `reuseport`.

#[path = "common/mod.rs"]
mod common;

/// These tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{run_on_thread, Client};
use coreline_http::{Body, ListenerMode, Server, Timeouts};
use coreline_runtime::net::SteerLoads;
use coreline_runtime::Cores;
use http::{Request, Response};

/// Answers with the index of the core that serves the connection; `/block` first blocks
/// that core's thread for [`BLOCKED_FOR`], `/pause` for [`PAUSED_FOR`].
async fn which_core(req: Request<Body>) -> Response<Body> {
    match req.uri().path() {
        "/block" => std::thread::sleep(BLOCKED_FOR),
        "/pause" => std::thread::sleep(PAUSED_FOR),
        _ => {}
    }
    let core = coreline_runtime::current_core().index;
    Response::new(Body::from(core.to_string()))
}

const BLOCKED_FOR: Duration = Duration::from_secs(3);
/// Long enough for the connections sent to a paused core to show as its lag (well above
/// `SteerLoads::LAG_SLACK`), short of `SteerLoads::SETTLE`.
const PAUSED_FOR: Duration = Duration::from_millis(100);

/// Opens a keep-alive connection, sends one request and returns it with the core that
/// answered.
fn open_on(addr: SocketAddr) -> (Client, usize) {
    let mut client = Client::connect(addr);
    client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = client.response(false);
    assert_eq!(response.status, 200);
    let core = response.body_str().parse().unwrap();
    (client, core)
}

fn two_cores(mode: ListenerMode) -> common::Running {
    let server = Server::builder()
        .cores(Cores::Count(2))
        .listener_mode(mode)
        .listen("127.0.0.1:0".parse().unwrap())
        .build(|| which_core)
        .expect("build");
    run_on_thread(server)
}

/// Whether this process may load BPF programs (the lead's and CI's runs are root).
fn may_load_bpf() -> bool {
    match SteerLoads::new(1) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("skipped: {e}");
            false
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn steered_connections_go_to_the_core_with_fewer_open() {
    if !may_load_bpf() {
        return;
    }
    let running = two_cores(ListenerMode::Steered);
    // Each connection is registered (and its core's load published) before its response,
    // so the next one lands on the other core or, when both hold as many, either: after
    // every second connection both hold the same number, which a hash would rarely give.
    let mut held = Vec::new();
    let mut per_core = [0usize; 2];
    for n in 1..=20 {
        let (client, core) = open_on(running.addr);
        per_core[core] += 1;
        held.push(client);
        if n % 2 == 0 {
            assert_eq!(per_core[0], per_core[1], "after {n}: {per_core:?}");
        }
    }
    drop(held);
    running.stop().unwrap();
}

#[test]
fn steered_after_closes_the_emptier_core_takes_the_next_connections() {
    if !may_load_bpf() {
        return;
    }
    let running = two_cores(ListenerMode::Steered);
    let mut by_core: [Vec<Client>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..8 {
        let (client, core) = open_on(running.addr);
        by_core[core].push(client);
    }
    assert_eq!((by_core[0].len(), by_core[1].len()), (4, 4));
    // Core 0's connections close; once it has noticed, new ones all go to core 0.
    by_core[0].clear();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..4 {
        let (client, core) = open_on(running.addr);
        assert_eq!(core, 0);
        by_core[0].push(client);
    }
    running.stop().unwrap();
}

#[test]
fn steered_connections_sent_to_a_blocked_core_are_served_by_the_other() {
    if !may_load_bpf() {
        return;
    }
    let running = two_cores(ListenerMode::Steered);
    let mut blocking = Client::connect(running.addr);
    blocking.send(b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n");
    // (the request reaches its core)
    std::thread::sleep(Duration::from_millis(50));
    // The blocked core holds one connection; the other core soon holds more, so the
    // program sends new connections to the blocked core's listener (until their wait
    // shows), and the other core must take them from there. Each must be answered long
    // before the block ends (the other core notices a lagging peer within its sweep
    // tick, 500 ms at most, and at once while it serves).
    let started = std::time::Instant::now();
    let mut held = Vec::new();
    let mut answered_by = [0usize; 2];
    for n in 0..20 {
        let at = std::time::Instant::now();
        let (client, core) = open_on(running.addr);
        let took = at.elapsed();
        assert!(
            took < Duration::from_millis(1500),
            "connection {n}: {took:?}"
        );
        answered_by[core] += 1;
        held.push(client);
    }
    assert!(started.elapsed() < BLOCKED_FOR, "{:?}", started.elapsed());
    let blocked = blocking
        .response(false)
        .body_str()
        .parse::<usize>()
        .unwrap();
    assert_eq!(answered_by[blocked], 0, "{answered_by:?}");
    // Back: the blocked core serves again.
    drop(held);
    let (_client, _core) = open_on(running.addr);
    running.stop().unwrap();
}

/// One round of the hand-off case on a two-core steered server with metrics: pauses the
/// core of one of four held connections, opens eight connections while it is paused,
/// and once it runs again sends a request on each. Returns the paused core, how many of
/// the eight it answered, and how many connections it handed off in the round.
fn pause_then_connect(running: &common::Running) -> (usize, usize, u64) {
    let mut held: Vec<(Client, usize)> = (0..4).map(|_| open_on(running.addr)).collect();
    let paused = held[0].1;
    let handed_before = handed_off(running, paused);
    let pausing = &mut held[0].0;
    pausing.send(b"GET /pause HTTP/1.1\r\nHost: x\r\n\r\n");
    std::thread::sleep(Duration::from_millis(5)); // (the request reaches its core)
                                                  // Both cores hold two connections: the program sends about half of these to the
                                                  // paused core's listener (until their wait shows); they wait in its queue.
    let mut burst: Vec<Client> = (0..8).map(|_| Client::connect(running.addr)).collect();
    let response = pausing.response(false);
    assert_eq!(response.body_str(), paused.to_string());
    let mut by_paused = 0;
    for client in &mut burst {
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let core: usize = client.response(false).body_str().parse().unwrap();
        by_paused += usize::from(core == paused);
    }
    (
        paused,
        by_paused,
        handed_off(running, paused) - handed_before,
    )
}

fn handed_off(running: &common::Running, core: usize) -> u64 {
    common::metrics::snapshot(running).cores[core].connections_handed_off
}

#[test]
fn steered_connections_a_lagging_core_accepts_are_handed_to_the_other() {
    if !may_load_bpf() {
        return;
    }
    // The longest sweep period (500 ms): the other core looks for a lagging peer on its
    // sweep tick, and a tick during the pause would take the queued connections over
    // before the paused core accepts them (served by the other core all the same, but
    // not by a hand-off). Rounds are repeated until one is not crossed by a tick.
    let mut timeouts = Timeouts::default();
    timeouts.linger = Duration::from_secs(5);
    let server = Server::builder()
        .cores(Cores::Count(2))
        .listener_mode(ListenerMode::Steered)
        .timeouts(timeouts)
        .metrics(true)
        .listen("127.0.0.1:0".parse().unwrap())
        .build(|| which_core)
        .expect("build");
    let running = run_on_thread(server);
    let mut rounds = Vec::new();
    for _ in 0..4 {
        let (paused, by_paused, handed) = pause_then_connect(&running);
        rounds.push((paused, by_paused, handed));
        // The connections the paused core accepted when it ran again went to the other
        // core: it answered none of them.
        if handed > 0 {
            assert_eq!(by_paused, 0, "{rounds:?}");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        rounds.iter().any(|&(_, _, handed)| handed > 0),
        "no round handed off (paused core, answered by it, handed off): {rounds:?}"
    );
    running.stop().unwrap();
}

#[test]
fn a_shared_socket_serves_and_is_closed_at_shutdown() {
    let running = two_cores(ListenerMode::Shared);
    let addr = running.addr;
    let held: Vec<_> = (0..20).map(|_| open_on(addr)).collect();
    drop(held);
    running.stop().unwrap();
    assert!(TcpStream::connect(addr).is_err(), "still listening");
}

#[test]
fn steered_without_the_capability_warns_once_and_uses_reuseport() {
    if Command::new("capsh").arg("--print").output().is_err() {
        eprintln!("skipped: no capsh");
        return;
    }
    let mut child = Command::new("capsh")
        .args(["--drop=cap_bpf,cap_sys_admin", "--", "-c"])
        .arg(format!(
            "exec {} serve --listen 127.0.0.1:0 --cpus 0 --listener-mode steered",
            env!("CARGO_BIN_EXE_coreline")
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(stderr).lines();
    let mut warnings = Vec::new();
    let addr = loop {
        let line = lines.next().expect("stderr ended").unwrap();
        if line.contains("WARN") {
            warnings.push(line.clone());
        }
        if let Some(rest) = line.split("serving http://").nth(1) {
            break rest
                .split('/')
                .next()
                .unwrap()
                .parse::<SocketAddr>()
                .unwrap();
        }
    };
    still_serves_root(addr);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert!(
        warning.contains("listener mode steered is unavailable"),
        "{warning}"
    );
    assert!(
        warning.contains("needs CAP_BPF or CAP_SYS_ADMIN"),
        "{warning}"
    );
    assert!(warning.contains("using reuseport"), "{warning}");
}

/// Ends the server however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary without --root answers `/` (any status but a refusal will do). The
/// "serving" line may come before the cores listen: connecting is retried for a while.
fn still_serves_root(addr: SocketAddr) {
    let start = std::time::Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut client = Client::connect(addr);
    client.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let response = client.response(false);
    assert!(response.status < 500, "{}", response.status);
}
