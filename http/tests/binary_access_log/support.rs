//! Running `coreline serve --access-log ...` for a test, and reading its log.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_coreline");

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coreline-access-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `coreline serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// `coreline serve --listen 127.0.0.1:PORT --cpus 0 ARGS...` (ARGS may repeat
    /// `--cpus`), with standard output piped if `stdout`, run in `cwd`.
    pub fn start(args: &[&str], stdout: bool, cwd: &Path) -> Server {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &addr.to_string(), "--cpus", "0"])
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(if stdout {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::null())
            .spawn()
            .expect("start coreline");
        let mut server = Server { child, addr };
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                server.child.try_wait().unwrap().is_none(),
                "coreline exited"
            );
            assert!(Instant::now() < end, "nothing accepted on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Whether the access log's writer thread runs (its name, as the kernel keeps it:
    /// cut to 15 bytes).
    pub fn has_log_writer(&self) -> bool {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id())).unwrap();
        tasks.flatten().any(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            comm.trim() == "coreline-access"
        })
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// SIGTERM, then waits for a clean exit (every line is written by then).
    pub fn stop(&mut self) {
        self.signal(Signal::SIGTERM);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of `path` (none if it does not exist).
pub fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8(text).expect("the log is UTF-8 here");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a cut line: {text:?}"
    );
    text.lines().map(str::to_owned).collect()
}

/// Waits until `path` holds `n` lines (the cores hand theirs over within 100 ms).
pub fn wait_lines(path: &Path, n: usize) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let got = lines(path);
        if got.len() >= n || Instant::now() > end {
            assert_eq!(got.len(), n, "{got:#?}");
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
