//! Socket activation: the listening sockets a service manager (systemd, or
//! `systemd-socket-activate`) passes to the process, as `sd_listen_fds_with_names(3)`
//! describes them: fds 3 to 3 + `LISTEN_FDS` - 1, meant for the process whose pid is
//! `LISTEN_PID`, named by the colon-separated `LISTEN_FDNAMES`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// The first fd of socket activation (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// A socket passed by the service manager.
#[derive(Debug)]
pub struct InheritedFd {
    /// The socket, now owned by this process (close-on-exec).
    pub fd: OwnedFd,
    /// Its `LISTEN_FDNAMES` entry (`FileDescriptorName=` of a systemd socket unit), or
    /// `"unknown"` without `LISTEN_FDNAMES`, as `sd_listen_fds_with_names` names it.
    pub name: String,
}

/// Takes the sockets passed by socket activation: none unless `LISTEN_PID` is this
/// process and `LISTEN_FDS` is set. Each fd is made close-on-exec and owned by the result.
///
/// `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` are removed from the environment
/// either way (as `sd_listen_fds(1)` does): they describe fds this process now owns, so a
/// child must not take them for its own, and a second call finds nothing. Call it once,
/// at the start of `main`, before any thread starts (changing the environment races
/// with threads reading it).
///
/// Errors (one line each, naming the variable): `LISTEN_FDS` not a number, or naming an
/// fd that is not open; `LISTEN_FDNAMES` with another count of names than `LISTEN_FDS`.
pub fn take_listen_fds() -> io::Result<Vec<InheritedFd>> {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let var = |name: &str| std::env::var(name).ok();
    let (pid, count, names) = (var("LISTEN_PID"), var("LISTEN_FDS"), var("LISTEN_FDNAMES"));
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    let for_us = pid
        .as_deref()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let Some(count) = count.filter(|_| for_us) else {
        return Ok(Vec::new());
    };
    let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
    let n: i32 = count
        .trim()
        .parse()
        .ok()
        .filter(|n| (0..=i32::MAX - FIRST_FD).contains(n))
        .ok_or_else(|| invalid(format!("LISTEN_FDS={count:?} is not a count of fds")))?;
    let names: Vec<String> = match names {
        Some(names) => names.split(':').map(str::to_owned).collect(),
        None => vec!["unknown".to_owned(); n as usize],
    };
    if names.len() != n as usize {
        return Err(invalid(format!(
            "LISTEN_FDNAMES has {} name(s) for LISTEN_FDS={n}",
            names.len()
        )));
    }
    // Every fd is checked open before any is owned, so an error closes none of them.
    for fd in FIRST_FD..FIRST_FD + n {
        set_cloexec(fd).map_err(|e| invalid(format!("LISTEN_FDS={n}: fd {fd}: {e}")))?;
    }
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new()); // (the variables were set again by hand: fds already owned)
    }
    let inherited = (FIRST_FD..FIRST_FD + n).zip(names).map(|(fd, name)| {
        // SAFETY: the service manager passed fds 3..3+LISTEN_FDS to this process (its
        // pid is LISTEN_PID) for it to own; each was just checked open, and `TAKEN`
        // makes this the only place that ever takes ownership of them.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        InheritedFd { fd, name }
    });
    Ok(inherited.collect())
}

/// Sets `FD_CLOEXEC` on `fd`; `EBADF` if it is not open.
fn set_cloexec(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl F_GETFD/F_SETFD take no pointers; on a closed fd they fail with EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl InheritedFd {
    /// The fd number, for messages.
    pub fn number(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}
