//! Thin, checked wrappers over the few plain syscalls the runtime makes outside io_uring
//! (socket setup, options, eventfd, affinity). Every `unsafe` block says why it is sound.
//!
//! `addr`: socket addresses in the kernel's layout. `socket`: socket setup and options.
//! This file: fds, eventfd, pipes, CPU affinity and signals.

mod addr;
mod socket;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub(crate) use addr::RawAddr;
#[cfg(feature = "futures-io")]
pub(crate) use socket::shutdown_write;
pub(crate) use socket::{
    bind, congestion_control, connect_now, get_int_opt, listen, set_congestion_control,
    set_int_opt, socket_addr, tcp_info, tcp_socket, unix_stream_socket,
};

/// Turns a `-1` syscall return into the current `errno` as an `io::Error`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Sets or clears `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: fcntl F_GETFL/F_SETFL take no pointers.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }).map(drop)
}

/// A new close-on-exec fd for the same open file as `fd`.
pub(crate) fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes no pointers; the new fd is ours alone.
    let new = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    Ok(own_fd(new))
}

/// Closes a raw fd the caller owns and will not use again (e.g. an accepted socket nobody
/// will ever see because its accept future was dropped).
pub(crate) fn close_raw(fd: RawFd) {
    // SAFETY: the caller owns fd and drops it here; nothing else refers to it.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
}

/// Wraps a freshly produced fd (from an io_uring accept/openat CQE) in an `OwnedFd`.
pub(crate) fn own_fd(fd: RawFd) -> OwnedFd {
    debug_assert!(fd >= 0);
    // SAFETY: the kernel just created this fd for us; nobody else holds it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A non-blocking, close-on-exec eventfd.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd() takes no pointers; the returned fd is ours alone.
    let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    Ok(own_fd(fd))
}

/// Adds one to an eventfd's counter, waking whoever has a read pending on it.
pub(crate) fn eventfd_signal(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64. EAGAIN (counter saturated) still leaves it
    // readable, so the error is irrelevant.
    unsafe { libc::write(fd.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8) };
}

/// A pipe pair (read end, write end), close-on-exec.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds is a live array of two ints, as pipe2 requires.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((own_fd(fds[0]), own_fd(fds[1])))
}

/// The CPUs this process may run on, in ascending order.
pub(crate) fn allowed_cpus() -> io::Result<Vec<usize>> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))?;
    Ok((0..nix::sched::CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

/// Pins the calling thread to `cpu`.
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    Ok(())
}

/// Ignores SIGPIPE process-wide, so a write to a reset socket is an EPIPE error, not death.
pub(crate) fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN for SIGPIPE has no memory-safety preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}
