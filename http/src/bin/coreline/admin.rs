//! `--metrics ADDR`: the admin listener and the interval-log writer.
//!
//! The admin listener is a second coreline-http server with one core, pinned to the
//! first CPU of the main server, serving [`MetricsAdmin`] (so it gets the same strict
//! parser and timeouts). It reads the main server's cores through cross-core jobs, so a
//! core stuck in a long task answers late rather than never; the accept-queue depth comes
//! from the sampler thread and never waits for a core.
//!
//! Interval logs go to `--metrics-hlog DIR` (default: the current directory) as
//! `coreline-<pid>-<n>.hlog`, n counting from 1: one per SIGUSR1 and one at shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use coreline_http::metrics::{write_interval_log, MetricsAdmin};
use coreline_http::{Server, ServerHandle};
use coreline_runtime::Cores;

/// A running admin server.
pub struct Admin {
    /// Where it listens (port 0 resolved).
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Admin {
    /// Binds `addr` (an error is a one-line message) and serves the metrics of `observed`
    /// on `cpu` from a thread of its own.
    pub fn start(addr: SocketAddr, cpu: usize, observed: ServerHandle) -> Result<Admin, String> {
        let server = Server::builder()
            .listen(addr)
            .cores(Cores::List(vec![cpu]))
            .backlog(64)
            .build({
                let admin = MetricsAdmin::new(observed);
                move || admin.clone()
            })
            .map_err(|e| format!("--metrics: {e}"))?;
        let handle = server.handle();
        let addr = server.local_addrs()[0];
        let thread = std::thread::Builder::new()
            .name("coreline-admin".into())
            .spawn(move || server.run())
            .map_err(|e| format!("cannot start the admin thread: {e}"))?;
        if !handle.wait_ready(Duration::from_secs(10)) {
            handle.shutdown();
            let why = match thread.join() {
                Ok(Err(e)) => e.to_string(),
                _ => "it did not start".into(),
            };
            return Err(format!("--metrics {addr}: {why}"));
        }
        Ok(Admin {
            addr,
            handle,
            thread,
        })
    }

    /// Shuts the admin server down and waits for it.
    pub fn stop(self) {
        self.handle.shutdown();
        if let Ok(Err(e)) = self.thread.join() {
            log::error!("coreline: admin listener: {e}");
        }
    }
}

/// Writes numbered interval logs of one server into one directory.
pub struct Hlog {
    dir: PathBuf,
    next: AtomicU32,
}

impl Hlog {
    /// Logs into `dir`, which must be a writable directory (checked now: a bad one is a
    /// one-line error at start, not a surprise at the first dump).
    pub fn new(dir: &Path) -> Result<Hlog, String> {
        let probe = dir.join(format!(".coreline-{}-probe", std::process::id()));
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| {
                format!(
                    "--metrics-hlog {}: not a writable directory: {e}",
                    dir.display()
                )
            })?;
        Ok(Hlog {
            dir: dir.to_path_buf(),
            next: AtomicU32::new(1),
        })
    }

    /// Writes the next log from the server's current (or final) metrics and says where.
    pub fn dump(&self, server: &ServerHandle) {
        let Some(snap) = server.metrics_snapshot_blocking(Duration::from_secs(5)) else {
            log::warn!("coreline: no metrics to write (the cores did not answer within 5 s)");
            return;
        };
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let path = self
            .dir
            .join(format!("coreline-{}-{n}.hlog", std::process::id()));
        let written = std::fs::File::create(&path).and_then(|f| {
            let mut out = std::io::BufWriter::new(f);
            write_interval_log(&snap, &mut out)?;
            std::io::Write::flush(&mut out)
        });
        match written {
            Ok(()) => log::info!("coreline: wrote {}", path.display()),
            Err(e) => log::error!("coreline: cannot write {}: {e}", path.display()),
        }
    }
}
