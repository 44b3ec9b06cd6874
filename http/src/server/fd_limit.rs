//! The open-file limit: every connection holds one file descriptor, so a low
//! `RLIMIT_NOFILE` caps the connections a server can hold. When it runs out, accept fails
//! with EMFILE and new clients wait in the accept queue however idle the cores are.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Below this many descriptors the server warns at start. It matches the reference nginx
/// configuration's `worker_connections 16384`: fewer means a smaller server than nginx's.
pub const LOW_FD_LIMIT: u64 = 16_384;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (as Go's runtime and systemd services
/// with `LimitNOFILE` do) and returns the new soft limit. The `coreline` binary calls it at
/// start; a library embedding the server decides for itself.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard.max(soft))
}

/// The one-line warning for a soft limit below [`LOW_FD_LIMIT`], naming what to change.
pub(crate) fn low_limit_warning() -> Option<String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    (soft < LOW_FD_LIMIT).then(|| {
        format!(
            "coreline: warning: the open-file limit (RLIMIT_NOFILE) is {soft} (hard {hard}), \
             so at most about {soft} connections can be open; raise it (`ulimit -n 65536`, \
             LimitNOFILE= in a systemd unit, nofile in /etc/security/limits.conf; \
             fs.nr_open bounds the hard limit)"
        )
    })
}
