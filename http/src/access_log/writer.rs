//! The writer thread: takes whole buffers from the cores and writes each with plain
//! `write(2)` calls, in order, to the current file (opened with `O_APPEND`) or standard
//! output; switches to a reopened file between buffers; warns about dropped lines at most
//! once a second.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Shared;

/// How often the writer wakes without work: to switch to a reopened file (closing the
/// moved one) and to report dropped lines.
const TICK: Duration = Duration::from_secs(1);

/// A core's buffer of whole lines.
pub(crate) struct Batch {
    pub(crate) buf: Vec<u8>,
    pub(crate) lines: u64,
}

/// Where the lines go.
pub(crate) enum Target {
    File(File),
    Stdout,
}

impl Target {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Target::File(f) => f.write_all(buf),
            Target::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(buf)?;
                out.flush()
            }
        }
    }
}

/// A file opened by `AccessLog::reopen`, waiting for the writer to take it.
#[derive(Default)]
pub(crate) struct Reopen {
    ready: AtomicBool,
    file: Mutex<Option<File>>,
}

impl Reopen {
    pub(crate) fn offer(&self, file: File) {
        *self.file.lock().unwrap_or_else(|p| p.into_inner()) = Some(file);
        self.ready.store(true, Ordering::Release);
    }

    fn take(&self) -> Option<File> {
        if !self.ready.swap(false, Ordering::Acquire) {
            return None;
        }
        self.file.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Opens `path` for appending (creating it, mode 0644 before the umask).
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

pub(crate) fn spawn(
    target: Target,
    batches: Receiver<Batch>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("coreline-access-log".into())
        .spawn(move || run(target, &batches, &shared))
        .map(drop)
}

fn run(mut target: Target, batches: &Receiver<Batch>, shared: &Shared) {
    let mut reported = 0u64;
    let mut last_report = Instant::now();
    loop {
        let batch = match batches.recv_timeout(TICK) {
            Ok(batch) => Some(batch),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if let Some(file) = shared.reopen.take() {
            target = Target::File(file);
        }
        if let Some(batch) = batch {
            if let Err(e) = target.write_all(&batch.buf) {
                shared.dropped.fetch_add(batch.lines, Ordering::Relaxed);
                if last_report.elapsed() >= TICK {
                    log::error!("coreline: access log: write failed: {e}");
                }
            }
            shared.pending.fetch_sub(1, Ordering::SeqCst);
        }
        let dropped = shared.dropped.load(Ordering::Relaxed);
        if dropped != reported && last_report.elapsed() >= TICK {
            log::warn!(
                "coreline: access log: {} lines dropped (the writer fell behind), {dropped} in all",
                dropped - reported
            );
            reported = dropped;
            last_report = Instant::now();
        }
    }
}
