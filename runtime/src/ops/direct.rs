//! Direct system calls: the few kernel calls made on the core's thread instead of
//! through the ring, each a plain function rather than a future.
//!
//! Everything else in [`ops`](super) goes through the ring, so the core never blocks and
//! a dropped future never leaves the kernel writing freed memory. A call here is made
//! directly only when it cannot block the core and the ring round trip would cost more
//! than the call itself:
//! - it answers from memory ([`statx_fd_now`]: an open file's inode, [`is_cached`]: the
//!   page cache), where the ring's STATX would hand off to an io-wq worker thread;
//! - it does what fits now and reports `WouldBlock` otherwise ([`send_now`],
//!   [`splice_now`]), so the caller falls back to the ring ([`writable`](super::writable),
//!   [`send`](super::send), [`splice`](super::splice)) only when the kernel would wait
//!   (a regular file as `splice_now`'s source waits for its pages on a cache miss: ask
//!   [`is_cached`] first);
//! - it only creates kernel objects ([`pipe`]).
//!
//! None of them takes an owned buffer: the kernel is done with the memory when the call
//! returns.

use std::io;

use super::misc::offset;
use super::stat::{zeroed_statx, Statx};
use crate::fd::{AsSharedFd, SharedFd};
use crate::sys;

/// `statx(2)` on an open fd as a direct system call, not through the ring, with
/// `AT_STATX_DONT_SYNC` (what the kernel has in memory: a network filesystem does not
/// ask its server).
///
/// The ring's STATX always goes to an io-wq worker thread: two context switches that
/// cost far more than the call. The inode of an open fd is in memory, so this does
/// no I/O and cannot block the core; use it when the answer is needed often (e.g. to
/// revalidate a cached open file on every use).
pub fn statx_fd_now(fd: &SharedFd) -> io::Result<Statx> {
    let mut out = zeroed_statx();
    // SAFETY: the path is a valid empty C string, `out` points at a writable statx that
    // lives across the call, and `fd` is open (the SharedFd is borrowed for the call).
    let ret = unsafe {
        libc::statx(
            fd.raw(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC,
            libc::STATX_BASIC_STATS,
            &mut *out,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Statx::from_raw(&out))
}

/// `cachestat(2)` (Linux 6.5); not in every libc binding; same number on every arch.
const SYS_CACHESTAT: libc::c_long = 451;

/// Set once `cachestat` turned out to be missing (old kernel, seccomp filter).
static NO_CACHESTAT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether every page of `fd` in `offset..offset + len` is in the page cache, as a
/// direct `cachestat(2)` (no I/O, never blocks). A splice or read of a resident range
/// does not wait for the disk. `false` when unknown (kernel without `cachestat`).
pub fn is_cached(fd: &SharedFd, offset: u64, len: u64) -> bool {
    use std::sync::atomic::Ordering;
    if len == 0 || NO_CACHESTAT.load(Ordering::Relaxed) {
        return len == 0;
    }
    let page = page_size();
    let pages = (offset + len).div_ceil(page) - offset / page;
    let range: [u64; 2] = [offset, len];
    // nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted
    let mut stat = [0u64; 5];
    // SAFETY: `range` is a readable `struct cachestat_range` and `stat` a writable
    // `struct cachestat` (five u64), both living across the call; `fd` is open.
    let ret = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd.raw(),
            range.as_ptr(),
            stat.as_mut_ptr(),
            0u32,
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error().raw_os_error();
        if e == Some(libc::ENOSYS) || e == Some(libc::EPERM) {
            NO_CACHESTAT.store(true, Ordering::Relaxed);
        }
        return false;
    }
    stat[0] >= pages
}

fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE
        .get_or_init(|| u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096))
}

/// `splice(2)` as a direct system call (not through the ring), with
/// `SPLICE_F_NONBLOCK`: a pipe that is full (or empty) gives `WouldBlock` instead of
/// waiting. Whether the file side can wait is up to the caller: a socket only fails
/// fast if it is `O_NONBLOCK`; a regular file may wait for its pages to be read.
pub fn splice_now(
    fd_in: &impl AsSharedFd,
    off_in: Option<u64>,
    fd_out: &impl AsSharedFd,
    len: u32,
    more: bool,
) -> io::Result<usize> {
    let mut off = offset(off_in);
    let off_ptr: *mut i64 = if off_in.is_some() {
        &mut off
    } else {
        std::ptr::null_mut()
    };
    let flags =
        libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK | if more { libc::SPLICE_F_MORE } else { 0 };
    // SAFETY: both fds are open for the call (borrowed SharedFds); `off_ptr` is null or
    // points at a local that outlives the call; no output offset (a pipe or socket).
    let n = unsafe {
        libc::splice(
            fd_in.as_shared_fd().raw(),
            off_ptr,
            fd_out.as_shared_fd().raw(),
            std::ptr::null_mut(),
            len as usize,
            flags,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// `send(2)` as a direct system call (not through the ring) with `MSG_DONTWAIT`: sends
/// what fits in the socket buffer now and returns the count, or `WouldBlock` if nothing
/// fits. `more` adds `MSG_MORE` (more data follows: hold back a partial segment).
/// Useful when a direct system call follows anyway, saving the ring round trip.
pub fn send_now(fd: &SharedFd, buf: &[u8], more: bool) -> io::Result<usize> {
    let flags = libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT | if more { libc::MSG_MORE } else { 0 };
    // SAFETY: `buf` is a valid readable slice for the call; `fd` is open (borrowed).
    let n = unsafe { libc::send(fd.raw(), buf.as_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// A new pipe: (read end, write end).
pub fn pipe() -> io::Result<(SharedFd, SharedFd)> {
    let (r, w) = sys::pipe()?;
    Ok((SharedFd::new(r), SharedFd::new(w)))
}
