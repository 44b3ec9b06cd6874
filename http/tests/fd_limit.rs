//! The `coreline` binary and the open-file limit: it raises a low soft limit to the hard
//! one, warns at start (naming RLIMIT_NOFILE and how to raise it) when even the hard limit
//! is low, and when accept fails with EMFILE it pauses accepting, keeps serving the
//! connections it has, and accepts again once fds are free. Limits are set on the child
//! with util-linux `prlimit`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use nix::sys::resource::{getrlimit, Resource};

const BIN: &str = env!("CARGO_BIN_EXE_coreline");

/// A `coreline serve` started under `prlimit --nofile=SOFT:HARD`.
struct Limited {
    child: Child,
    addr: SocketAddr,
    /// Everything it printed on stderr so far.
    log: Arc<Mutex<String>>,
}

impl Limited {
    fn start(soft: u64, hard: u64) -> Limited {
        let mut child = Command::new("prlimit")
            .arg(format!("--nofile={soft}:{hard}"))
            .args([BIN, "serve", "--listen", "127.0.0.1:0", "--cpus", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prlimit (util-linux) runs coreline");
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(at) = line.split("http://").nth(1) {
                    let _ = addr_tx.send(at.trim_end_matches(|c| c != '/').to_string());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("coreline prints its address");
        let addr: SocketAddr = addr.trim_end_matches('/').parse().unwrap();
        // The line is printed as the cores start: wait until they listen.
        for _ in 0..500 {
            if TcpStream::connect(addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Limited { child, addr, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn warns_when_the_hard_fd_limit_is_low() {
    let server = Limited::start(1000, 1000);
    let log = server.log();
    assert!(
        log.contains("RLIMIT_NOFILE") && log.contains("1000") && log.contains("ulimit"),
        "names the limit, its value and how to raise it: {log}"
    );
}

#[test]
fn raises_a_low_soft_limit_silently() {
    // The hard limit cannot be raised here (no CAP_SYS_RESOURCE in some containers): use
    // this process's own, which the CI script has made large.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if hard < coreline_http::LOW_FD_LIMIT {
        eprintln!("skipped: this process's hard open-file limit is only {hard}");
        return;
    }
    let server = Limited::start(1000, hard);
    assert!(!server.log().contains("RLIMIT_NOFILE"), "{}", server.log());
}

const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

/// Sends a request on `c` and says whether a 200 came back within `wait`.
fn served(c: &mut TcpStream, wait: Duration) -> bool {
    c.set_read_timeout(Some(wait)).unwrap();
    if c.write_all(GET).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(c.read(&mut buf), Ok(n) if buf[..n].starts_with(b"HTTP/1.1 200"))
}

#[test]
fn emfile_pauses_accepting_keeps_serving_and_recovers() {
    // 48 fds: some go to the ring, the listener and stdio; about 40 remain for clients.
    let server = Limited::start(48, 48);
    let mut conns: Vec<TcpStream> = (0..80)
        .map(|_| TcpStream::connect(server.addr).expect("the kernel queues the connection"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // The first ones were accepted and are served, also while accepting fails.
    for c in &mut conns[..10] {
        assert!(served(c, Duration::from_secs(2)), "{}", server.log());
    }
    let late = conns.len() - 1;
    assert!(
        !served(&mut conns[late], Duration::from_millis(300)),
        "the last connection cannot have been accepted with 48 fds"
    );
    let log = server.log();
    assert!(log.contains("Too many open files"), "{log}");
    // One line per episode, not per retry (a freed fd may end an episode early).
    assert!(log.matches("accept failed").count() <= 3, "{log}");
    // Free fds: every waiting connection is accepted and served, the late one included.
    conns.drain(..40);
    for c in conns.iter_mut().rev().take(20) {
        assert!(served(c, Duration::from_secs(3)), "{}", server.log());
    }
    assert!(server.log().contains("accepting again"), "{}", server.log());
}
