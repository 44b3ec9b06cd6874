//! The access log: one line per response, set with
//! [`Builder::access_log`](crate::Builder::access_log) (off by default, and then it costs
//! one branch per response).
//!
//! It never blocks a core: each core formats its lines into its own buffer and hands
//! whole buffers to one writer thread through a bounded channel, when the buffer passes
//! [`FLUSH_AT`] bytes or on a short timer of the core's loop. The writer writes each
//! buffer with plain `write(2)` calls to a file opened with `O_APPEND`, so lines never
//! interleave. If the writer falls behind (a slow disk), a core drops its buffer instead
//! of waiting and counts the lines ([`AccessLog::dropped_lines`]); the writer logs a
//! warning with the count, at most once a second.
//!
//! [`AccessLog::reopen`] opens the path again (logrotate's move, then SIGHUP).
//!
//! Not logged: connections refused at the per-core connection limit (answered 503 before
//! any request is read) and connections closed without a response.

mod format;
#[cfg(test)]
mod format_tests;
mod per_core;
mod writer;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use self::format::{Record, RequestLine};
pub(crate) use self::per_core::CoreAccessLog;
use self::writer::{Batch, Reopen, Target};

/// A core hands its buffer to the writer once it holds this many bytes.
pub(crate) const FLUSH_AT: usize = 32 * 1024;
/// A core hands a non-empty buffer to the writer at least this often.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Buffers waiting for the writer before cores drop theirs (with [`FLUSH_AT`]: about
/// 2 MiB of lines).
const QUEUE: usize = 64;

/// The line format of an [`AccessLog`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessLogFormat {
    /// nginx's `combined` format, byte for byte:
    /// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    /// "$http_referer" "$http_user_agent"`, with nginx's escaping (`"`, `\`, control bytes
    /// and bytes from 0x7f as `\xHH`) and `-` for a missing field. The time is in UTC
    /// (`+0000`). For example:
    ///
    /// ```text
    /// 127.0.0.1 - - [06/Dec/2026:08:25:34 +0000] "GET /plaintext HTTP/1.1" 200 13 "-" "curl/8.5.0"
    /// ```
    #[default]
    Combined,
    /// One JSON object per line, with the keys `time` (ISO 8601, UTC), `remote_addr`,
    /// `request` (the request line, as in `combined`), `method`, `target`, `version`
    /// (these three `null` for a head refused before it was parsed), `status`,
    /// `body_bytes_sent`, `referer` and `user_agent` (`null` when absent) and
    /// `duration_us` (from the parsed request head to the finished response, in
    /// microseconds; 0 for a refused head). Strings are JSON-escaped; a byte that is not
    /// valid UTF-8 is written as `\u00XX` (read as Latin-1). For example:
    ///
    /// ```text
    /// {"time":"2026-12-06T08:25:34+00:00","remote_addr":"127.0.0.1","request":"GET / HTTP/1.1","method":"GET","target":"/","version":"HTTP/1.1","status":200,"body_bytes_sent":13,"referer":null,"user_agent":"curl/8.5.0","duration_us":41}
    /// ```
    Json,
}

/// Where the access log goes and in what format; cheap to clone (the clones share the
/// writer thread).
///
/// ```no_run
/// use coreline_http::{AccessLog, AccessLogFormat, Server};
///
/// let log = AccessLog::open("/var/log/coreline/access.log", AccessLogFormat::Combined)?;
/// let builder = Server::builder().access_log(Some(log.clone()));
/// // On SIGHUP (after logrotate moved the file): log.reopen()?
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct AccessLog {
    shared: Arc<Shared>,
    sender: SyncSender<Batch>,
}

/// What the cores, the writer and the owner share.
pub(crate) struct Shared {
    format: AccessLogFormat,
    /// The file's path (`None`: standard output).
    path: Option<PathBuf>,
    /// Lines dropped because the writer was behind (or could not write).
    dropped: AtomicU64,
    /// Buffers handed to the writer and not written yet.
    pending: AtomicUsize,
    /// A file opened by [`AccessLog::reopen`], for the writer to switch to.
    reopen: Reopen,
}

impl AccessLog {
    /// Appends to the file at `path` (created with mode 0644 if missing, opened with
    /// `O_APPEND`) from a writer thread started here. Fails if the file cannot be opened.
    pub fn open(path: impl AsRef<Path>, format: AccessLogFormat) -> io::Result<AccessLog> {
        let path = path.as_ref().to_path_buf();
        let file = writer::open_append(&path)?;
        Self::start(Target::File(file), Some(path), format)
    }

    /// Writes to standard output from a writer thread started here.
    pub fn stdout(format: AccessLogFormat) -> io::Result<AccessLog> {
        Self::start(Target::Stdout, None, format)
    }

    fn start(
        target: Target,
        path: Option<PathBuf>,
        format: AccessLogFormat,
    ) -> io::Result<AccessLog> {
        let shared = Arc::new(Shared {
            format,
            path,
            dropped: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            reopen: Reopen::default(),
        });
        let (sender, receiver) = sync_channel(QUEUE);
        writer::spawn(target, receiver, shared.clone())?;
        Ok(AccessLog { shared, sender })
    }

    /// The line format.
    pub fn format(&self) -> AccessLogFormat {
        self.shared.format
    }

    /// Opens the path again (creating the file) and has the writer switch to it before
    /// its next write: logrotate's move-then-signal. Lines already handed to the writer
    /// may still go to the old file; none is lost. Nothing to do for standard output.
    /// Fails (and the old file stays in use) if the path cannot be opened.
    pub fn reopen(&self) -> io::Result<()> {
        let Some(path) = &self.shared.path else {
            return Ok(());
        };
        let file = writer::open_append(path)?;
        self.shared.reopen.offer(file);
        Ok(())
    }

    /// Lines dropped so far because the writer was behind (or its writes failed).
    pub fn dropped_lines(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Hands a core's buffer of `lines` lines to the writer, or drops it (and counts the
    /// lines) if the writer's queue is full: a core never waits for the disk.
    pub(crate) fn hand_over(&self, buf: Vec<u8>, lines: u64) {
        self.shared.pending.fetch_add(1, Ordering::SeqCst);
        match self.sender.try_send(Batch { buf, lines }) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.shared.pending.fetch_sub(1, Ordering::SeqCst);
                self.shared.dropped.fetch_add(lines, Ordering::Relaxed);
            }
        }
    }

    /// Waits (up to `limit`) until the writer wrote every buffer handed to it: at the end
    /// of [`Server::run`](crate::Server::run), so no line is lost when the process exits.
    pub(crate) fn wait_written(&self, limit: Duration) {
        let start = Instant::now();
        while self.shared.pending.load(Ordering::SeqCst) > 0 && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLog")
            .field("format", &self.shared.format)
            .field("path", &self.shared.path)
            .field("dropped_lines", &self.dropped_lines())
            .finish()
    }
}
