//! `coreline serve` as a service manager runs it: `/healthz` on the admin listener (200
//! while serving, 503 while draining), SIGQUIT as a graceful stop (exit 0, no core
//! dump), SIGHUP survived (without TLS there is nothing to reload: it says so; the
//! certificate reload is in `tls_binary/reload.rs`).

#[path = "common/mod.rs"]
mod common;
#[path = "common/served.rs"]
mod served;

/// The binary tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::metrics::eventually;
use common::{one, still_serves, Client};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use served::Served;

const GET_PLAINTEXT: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

fn signal(s: &Served, signal: Signal) {
    kill(Pid::from_raw(s.child.id() as i32), signal).unwrap();
}

fn exit_status(s: &mut Served, within: Duration) -> ExitStatus {
    let end = Instant::now() + within;
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < end,
            "coreline did not exit within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn healthz(admin: SocketAddr) -> (u16, String) {
    let (r, _) = one(admin, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    (r.status, r.body_str().trim_end().to_string())
}

#[test]
fn healthz_is_ok_while_serving_and_503_while_draining() {
    let admin = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let admin_s = admin.to_string();
    // The interval log written at shutdown goes to a directory of its own.
    let hlog = std::env::temp_dir().join(format!("coreline-healthz-{}", std::process::id()));
    std::fs::create_dir_all(&hlog).unwrap();
    let mut s = Served::start(
        &[
            "--metrics",
            &admin_s,
            "--metrics-hlog",
            hlog.to_str().unwrap(),
            "--drain-timeout",
            "8",
        ],
        Stdio::null,
    );
    assert!(eventually(Duration::from_secs(10), || {
        TcpStream::connect(admin).is_ok()
    }));
    assert_eq!(healthz(admin), (200, "ok".into()));

    // A keep-alive connection the client never closes holds the drain open until
    // --drain-timeout.
    let mut held = Client::connect(s.addr);
    held.send(GET_PLAINTEXT);
    assert_eq!(held.response(false).status, 200);
    signal(&s, Signal::SIGTERM);
    assert!(
        eventually(Duration::from_secs(5), || healthz(admin).0 == 503),
        "healthz still 200 after SIGTERM"
    );
    assert_eq!(healthz(admin), (503, "draining".into()));
    assert!(s.child.try_wait().unwrap().is_none(), "still draining");

    drop(held); // the last connection is gone: the drain ends
    let status = exit_status(&mut s, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    let _ = std::fs::remove_dir_all(&hlog);
}

#[test]
fn sigquit_drains_and_exits_0_without_a_core_dump() {
    let mut s = Served::start::<&str>(&[], Stdio::null);
    let mut c = Client::connect(s.addr);
    c.send(GET_PLAINTEXT);
    assert_eq!(c.response(false).status, 200);
    signal(&s, Signal::SIGQUIT);
    assert!(
        c.closed_within(Duration::from_secs(5)),
        "the idle connection is closed by the drain"
    );
    drop(c);
    let status = exit_status(&mut s, Duration::from_secs(10));
    assert_eq!(status.signal(), None, "killed by a signal: {status}");
    assert!(!status.core_dumped(), "{status}");
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn sighup_without_tls_is_logged_and_the_server_keeps_serving() {
    let mut s = Served::start::<&str>(&[], Stdio::piped);
    signal(&s, Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(300)); // the signal thread has taken it
    assert!(s.child.try_wait().unwrap().is_none(), "SIGHUP killed it");
    still_serves(s.addr);
    signal(&s, Signal::SIGHUP);
    still_serves(s.addr);

    signal(&s, Signal::SIGTERM);
    let status = exit_status(&mut s, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    let mut stderr = String::new();
    s.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let logged = stderr
        .lines()
        .filter(|l| l.contains("SIGHUP") && l.contains("nothing to reload"))
        .count();
    assert_eq!(logged, 2, "one line per SIGHUP: {stderr}");
}
