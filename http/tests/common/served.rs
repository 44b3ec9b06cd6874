//! Starting the `coreline` binary for a test: `coreline serve --listen 127.0.0.1:PORT
//! --cpus 0 EXTRA...` on a free loopback port (plus `--tls-listen 127.0.0.1:PORT2
//! --tls-cert C --tls-key K` for [`Served::start_tls`]), waiting until it accepts, and
//! killing (and reaping) it when the test ends, also when an assertion fails.

#![allow(dead_code)] // each test binary uses part of it

use std::ffi::{OsStr, OsString};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running `coreline serve`.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    /// The HTTPS listener, if started with [`Served::start_tls`].
    pub tls_addr: Option<SocketAddr>,
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("no free loopback port")
}

impl Served {
    /// Starts the server with `extra` arguments; its stderr goes where `stderr()` says
    /// (`Stdio::piped` to read its messages, `Stdio::null` otherwise). Retries on another
    /// port if the one picked was taken in between.
    pub fn start<S: AsRef<OsStr>>(extra: &[S], stderr: fn() -> Stdio) -> Served {
        Self::spawn(extra, stderr, None, None)
    }

    /// Like [`start`](Self::start), plus an HTTPS listener with this certificate and key
    /// (all listeners are bound before the server accepts on any).
    pub fn start_tls<S: AsRef<OsStr>>(
        cert: &Path,
        key: &Path,
        extra: &[S],
        stderr: fn() -> Stdio,
    ) -> Served {
        Self::spawn(extra, stderr, Some((cert, key)), None)
    }

    /// Like [`start`](Self::start), under an open-file limit of `nofile` (soft and hard,
    /// set with util-linux `prlimit`, so the server cannot raise it).
    pub fn start_limited<S: AsRef<OsStr>>(
        nofile: u64,
        extra: &[S],
        stderr: fn() -> Stdio,
    ) -> Served {
        Self::spawn(extra, stderr, None, Some(nofile))
    }

    fn spawn<S: AsRef<OsStr>>(
        extra: &[S],
        stderr: fn() -> Stdio,
        tls: Option<(&Path, &Path)>,
        nofile: Option<u64>,
    ) -> Served {
        let extra: Vec<OsString> = extra.iter().map(|s| s.as_ref().to_owned()).collect();
        let mut last = String::new();
        for _ in 0..5 {
            let addr = free_port();
            let tls_addr = tls.map(|_| free_port());
            let mut args = extra.clone();
            if let (Some(tls_addr), Some((cert, key))) = (tls_addr, tls) {
                args.extend(["--tls-listen".into(), tls_addr.to_string().into()]);
                args.extend(["--tls-cert".into(), cert.as_os_str().to_owned()]);
                args.extend(["--tls-key".into(), key.as_os_str().to_owned()]);
            }
            let bin = env!("CARGO_BIN_EXE_coreline");
            let mut command = match nofile {
                // prlimit sets the limit on itself, then execs the server (same pid).
                Some(n) => {
                    let mut c = Command::new("prlimit");
                    c.arg(format!("--nofile={n}:{n}")).arg(bin);
                    c
                }
                None => Command::new(bin),
            };
            let child = command
                .args(["serve", "--listen", &addr.to_string(), "--cpus", "0"])
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr())
                .spawn()
                .expect("cannot start the coreline binary");
            let mut served = Served {
                child,
                addr,
                tls_addr,
            };
            match served.wait_accepting(Duration::from_secs(10)) {
                Ok(()) => return served,
                Err(e) => last = e, // dropping `served` kills the child
            }
        }
        panic!("coreline did not start: {last}");
    }

    fn wait_accepting(&mut self, limit: Duration) -> Result<(), String> {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!(
                    "it exited with {status} before accepting on {}",
                    self.addr
                ));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > end {
                return Err(format!(
                    "nothing accepted on {} within {limit:?}",
                    self.addr
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `https://localhost:PORT{path}` (the name the generated certificate carries).
    pub fn https_url(&self, path: &str) -> String {
        let tls = self.tls_addr.expect("started with start_tls");
        format!("https://localhost:{}{path}", tls.port())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
