//! Errors that say what failed and what to do about it.

use std::fmt;
use std::io;

/// Why the runtime could not start or stopped early.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The io_uring instance could not be created; the message says why and what to change.
    RingSetup {
        /// Human-readable explanation, including the fix.
        message: String,
        /// The underlying OS error.
        source: io::Error,
    },
    /// The kernel lacks io_uring features the runtime needs.
    Unsupported(String),
    /// The core selection is invalid (unknown CPU, empty list, ...).
    Cores(String),
    /// Another [`Builder`](crate::Builder) setting is invalid (e.g. a receive buffer count
    /// that is not a power of two); the message names the setting and the valid range.
    Config(String),
    /// A core's thread could not be pinned to its CPU.
    Pin {
        /// The CPU the thread was to run on.
        cpu: usize,
        /// The error `sched_setaffinity` gave.
        source: io::Error,
    },
    /// A core failed to start (thread spawn, listener setup...).
    Io(io::Error),
    /// A per-core entry future (or the runtime on that core) panicked.
    CorePanicked {
        /// Index of the core in this runtime (0-based).
        core: usize,
        /// The CPU that core was pinned to.
        cpu: usize,
        /// The panic message.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::RingSetup { message, .. } => write!(f, "io_uring setup failed: {message}"),
            Error::Unsupported(what) => write!(f, "kernel lacks a needed io_uring feature: {what}"),
            Error::Cores(what) => write!(f, "invalid core selection: {what}"),
            Error::Config(what) => write!(f, "invalid runtime setting: {what}"),
            Error::Pin { cpu, source } => write!(f, "pinning a core to CPU {cpu} failed: {source}"),
            Error::Io(e) => write!(f, "runtime start failed: {e}"),
            Error::CorePanicked { core, cpu, message } => {
                write!(f, "core {core} (cpu {cpu}) panicked: {message}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::RingSetup { source, .. } | Error::Pin { source, .. } => Some(source),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            other => io::Error::other(other.to_string()),
        }
    }
}

/// Explains a failed `io_uring_setup` in terms of what the user can change.
pub(crate) fn explain_setup_failure(err: io::Error, entries: u32) -> Error {
    let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let message = match err.raw_os_error() {
        Some(libc::ENOSYS) => {
            "the kernel does not provide io_uring (needs Linux 6.0 or newer built with \
             CONFIG_IO_URING)"
                .to_string()
        }
        Some(libc::EPERM) if disabled > 0 => format!(
            "io_uring is disabled by sysctl kernel.io_uring_disabled={disabled}; \
             set it to 0 (or 1 and add this user to kernel.io_uring_group)"
        ),
        Some(libc::EPERM) => "io_uring_setup was refused (EPERM): a seccomp profile or \
             container policy blocks io_uring; allow the io_uring_* syscalls"
            .to_string(),
        Some(libc::ENOMEM) => format!(
            "not enough locked memory for a ring of {entries} entries; raise the memlock \
             limit (ulimit -l) or choose fewer ring entries"
        ),
        _ => format!("io_uring_setup with {entries} entries failed: {err}"),
    };
    Error::RingSetup {
        message,
        source: err,
    }
}
