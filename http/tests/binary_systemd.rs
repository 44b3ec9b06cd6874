//! `coreline serve` under systemd's protocols, spoken for real: socket activation through
//! `systemd-socket-activate` (Debian's systemd package), plain and TLS sockets told apart
//! by `LISTEN_FDNAMES`; `Type=notify` readiness read from a datagram socket given as
//! `NOTIFY_SOCKET` (a path, and an abstract `@name`); and a bad `LISTEN_FDS` refused with
//! one line and exit 2.

#[path = "common/tls_bin.rs"]
mod tls_bin;
#[path = "common/tools.rs"]
mod tools;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tls_bin::{curl, gen_cert, s, Dir, LIMIT};

const CORELINE: &str = env!("CARGO_BIN_EXE_coreline");

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
}

/// A started process, killed and reaped when the test ends (also when it fails).
struct Process(Child);

impl Process {
    fn start(command: &mut Command) -> Process {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the server");
        Process(child)
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.0.id() as i32), signal).unwrap();
    }

    fn exit_code(&mut self) -> Option<i32> {
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < end, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The next datagram on the notify socket, as text.
fn message(notify: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = notify
        .recv(&mut buf)
        .expect("a notify message within the timeout");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn lines(message: &str) -> Vec<&str> {
    message.lines().collect()
}

#[test]
fn socket_activation_serves_the_passed_plain_and_tls_sockets() {
    let dir = Dir::new("systemd");
    let (cert, key) = gen_cert(&dir.path("cert"));
    let notify_path = dir.path("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(LIMIT)).unwrap();
    let (plain, tls, not_bound) = (free_addr(), free_addr(), free_addr());
    let mut server = Process::start(
        Command::new("systemd-socket-activate")
            .args(["-l", &plain.to_string(), "-l", &tls.to_string()])
            .arg("--fdname=http:https")
            .arg(format!("--setenv=NOTIFY_SOCKET={}", s(&notify_path)))
            .args([CORELINE, "serve", "--cpus", "0"])
            // Replaced by the passed sockets: never bound.
            .args(["--listen", &not_bound.to_string()])
            .args(["--tls-cert", s(&cert), "--tls-key", s(&key)])
            .stderr(Stdio::null()),
    );
    // systemd-socket-activate starts coreline on the first connection, which coreline
    // then accepts from the passed socket.
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect(plain).is_err() {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate not listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = curl(&cert, &[&format!("http://{plain}/plaintext")]);
    assert_eq!(out.stdout, "Hello, World!", "{}", out.describe());
    let ready = message(&notify);
    assert!(lines(&ready).contains(&"READY=1"), "{ready}");
    assert!(
        ready.contains(&format!("http://{plain}/")) && ready.contains(&format!("https://{tls}/")),
        "{ready}"
    );
    let out = curl(&cert, &[&format!("https://{tls}/plaintext")]);
    assert_eq!(out.stdout, "Hello, World!", "{}", out.describe());
    assert!(
        TcpStream::connect(not_bound).is_err(),
        "--listen was bound too"
    );

    server.signal(Signal::SIGTERM);
    let stopping = message(&notify);
    assert!(lines(&stopping).contains(&"STOPPING=1"), "{stopping}");
    assert_eq!(server.exit_code(), Some(0));
}

#[test]
fn notify_socket_hears_ready_reloading_ready_and_stopping() {
    // An abstract socket, as systemd itself may pass: `NOTIFY_SOCKET=@name`.
    let name = format!("coreline-notify-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let notify = UnixDatagram::bind_addr(&addr).unwrap();
    notify.set_read_timeout(Some(LIMIT)).unwrap();
    let mut server = Process::start(
        Command::new(CORELINE)
            .args(["serve", "--cpus", "0", "--listen", "127.0.0.1:0"])
            .env("NOTIFY_SOCKET", format!("@{name}"))
            .stderr(Stdio::null()),
    );
    let ready = message(&notify);
    let pid = format!("MAINPID={}", server.0.id());
    assert!(lines(&ready).contains(&"READY=1"), "{ready}");
    assert!(lines(&ready).contains(&pid.as_str()), "{ready}");
    // Ready means accepting: the status names the address, port 0 resolved.
    let url = ready
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the address in STATUS=");
    let out = tools::run(
        "curl",
        &["-sS", "-m", "20", &format!("{url}plaintext")],
        LIMIT,
    );
    assert_eq!(out.stdout, "Hello, World!", "{}", out.describe());

    server.signal(Signal::SIGHUP);
    let reloading = message(&notify);
    assert!(lines(&reloading).contains(&"RELOADING=1"), "{reloading}");
    let usec = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .expect("MONOTONIC_USEC= with RELOADING=1");
    assert!(usec.parse::<u64>().unwrap() > 0, "{reloading}");
    let reloaded = message(&notify);
    assert!(lines(&reloaded).contains(&"READY=1"), "{reloaded}");

    server.signal(Signal::SIGTERM);
    let stopping = message(&notify);
    assert!(lines(&stopping).contains(&"STOPPING=1"), "{stopping}");
    assert_eq!(server.exit_code(), Some(0));
}

/// Runs coreline through `sh` so that `LISTEN_PID` can be its own pid (`exec` keeps it).
fn activated_by_hand(script: &str) -> std::process::Output {
    Command::new("sh")
        .args(["-c", script, CORELINE])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn one_line_exit_2(out: &std::process::Output, says: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for s in says {
        assert!(err.contains(s), "{s:?} in {err}");
    }
}

#[test]
fn a_bad_listen_fds_is_one_line_and_exit_2() {
    let not_a_number = activated_by_hand(r#"LISTEN_PID=$$ LISTEN_FDS=two exec "$0" serve"#);
    one_line_exit_2(&not_a_number, &["LISTEN_FDS", "two"]);
    let not_open = activated_by_hand(r#"exec 3<&-; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve"#);
    one_line_exit_2(&not_open, &["LISTEN_FDS=1", "fd 3"]);
    let a_file = activated_by_hand(
        r#"exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web exec "$0" serve"#,
    );
    one_line_exit_2(&a_file, &["fd 3", "\"web\"", "not a listening TCP socket"]);
    let names = activated_by_hand(
        r#"exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=a:b exec "$0" serve"#,
    );
    one_line_exit_2(&names, &["LISTEN_FDNAMES"]);
}

#[test]
fn an_https_socket_without_a_certificate_is_not_served_and_says_so() {
    let addr = free_addr();
    let mut server = Process::start(
        Command::new("systemd-socket-activate")
            .args(["-l", &addr.to_string(), "--fdname=https"])
            .args([CORELINE, "serve", "--cpus", "0"])
            .stderr(Stdio::piped()),
    );
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate not listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.exit_code(), Some(2));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut server.0.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("1 socket(s) named https or tls not served: no --tls-cert"),
        "{err}"
    );
    assert!(err.contains("no socket to serve on"), "{err}");
}
