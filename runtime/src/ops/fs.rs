//! File operations: openat, statx, positional read/write, close.

use std::ffi::CString;
use std::io;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::{cqe_result, finish_read, spare_capacity, sqe_len};
use crate::buf::{IoBuf, IoBufMut};
use crate::driver::slot::{Completion, OpKind};
use crate::fd::SharedFd;
use crate::op::{Op, OpData};
use crate::sys;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path contains a NUL byte: {}", path.display()),
        )
    })
}

struct OpenAt {
    path: CString,
    flags: i32,
    mode: u32,
}

impl OpData for OpenAt {
    type Output = io::Result<OwnedFd>;
    const KIND: OpKind = OpKind::YieldsFd;
    fn sqe(&mut self) -> squeue::Entry {
        opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags | libc::O_CLOEXEC)
            .mode(self.mode)
            .build()
    }
    fn complete(self, c: Completion) -> io::Result<OwnedFd> {
        cqe_result(c).map(|fd| sys::own_fd(fd as i32))
    }
}

/// Opens `path` with `open(2)` flags (`O_CLOEXEC` is always added) and `mode`.
pub async fn open_at(path: impl AsRef<Path>, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let path = c_path(path.as_ref())?;
    Op::new(OpenAt { path, flags, mode }).await
}

struct OpenAt2 {
    _dir: SharedFd,
    dirfd: i32,
    path: CString,
    how: Box<types::OpenHow>,
}

impl OpData for OpenAt2 {
    type Output = io::Result<OwnedFd>;
    const KIND: OpKind = OpKind::YieldsFd;
    fn sqe(&mut self) -> squeue::Entry {
        // `path` and `how` are owned by the op (boxed/heap), so they outlive the SQE.
        opcode::OpenAt2::new(types::Fd(self.dirfd), self.path.as_ptr(), &*self.how).build()
    }
    fn complete(self, c: Completion) -> io::Result<OwnedFd> {
        cqe_result(c).map(|fd| sys::own_fd(fd as i32))
    }
}

/// `openat2(2)` relative to the directory `dir`, with `open(2)` flags (`O_CLOEXEC` is
/// always added) and `RESOLVE_*` flags, e.g. `RESOLVE_BENEATH` to refuse any path (`..`,
/// absolute, or a symlink) that would leave `dir`. Needs Linux 5.6.
pub async fn open_at2(
    dir: &SharedFd,
    path: impl AsRef<Path>,
    flags: i32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let path = c_path(path.as_ref())?;
    let how = types::OpenHow::new()
        .flags((flags | libc::O_CLOEXEC) as u64)
        .resolve(resolve);
    Op::new(OpenAt2 {
        _dir: dir.clone(),
        dirfd: dir.raw(),
        path,
        how: Box::new(how),
    })
    .await
}

/// File metadata from `statx(2)` (the fields coreline uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statx {
    /// Size in bytes.
    pub size: u64,
    /// `st_mode`: file type and permissions.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime_sec: i64,
    /// Modification time, nanoseconds part.
    pub mtime_nsec: u32,
    /// Inode number.
    pub ino: u64,
    /// Number of hard links: 0 once the file was deleted or replaced by a rename.
    pub nlink: u32,
}

impl Statx {
    /// Whether this is a regular file (not a directory, FIFO, device or socket).
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
}

struct StatxOp {
    /// Keeps the fd open while the kernel looks at it (when stat'ing an open file).
    _fd: Option<SharedFd>,
    dirfd: i32,
    path: CString,
    flags: i32,
    out: Box<libc::statx>,
}

impl OpData for StatxOp {
    type Output = io::Result<Statx>;
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let out: *mut libc::statx = &mut *self.out;
        opcode::Statx::new(types::Fd(self.dirfd), self.path.as_ptr(), out.cast())
            .flags(self.flags)
            .mask(libc::STATX_BASIC_STATS)
            .build()
    }
    fn complete(self, c: Completion) -> io::Result<Statx> {
        cqe_result(c)?;
        Ok(Statx::from_raw(&self.out))
    }
}

impl Statx {
    fn from_raw(s: &libc::statx) -> Statx {
        Statx {
            size: s.stx_size,
            mode: u32::from(s.stx_mode),
            mtime_sec: s.stx_mtime.tv_sec,
            mtime_nsec: s.stx_mtime.tv_nsec,
            ino: s.stx_ino,
            nlink: s.stx_nlink,
        }
    }
}

fn zeroed_statx() -> Box<libc::statx> {
    // SAFETY: statx is plain old data; the kernel overwrites it.
    Box::new(unsafe { std::mem::zeroed() })
}

/// `statx(2)` on a path. With `follow_symlinks == false` a symlink itself is described.
pub async fn statx(path: impl AsRef<Path>, follow_symlinks: bool) -> io::Result<Statx> {
    let flags = if follow_symlinks {
        0
    } else {
        libc::AT_SYMLINK_NOFOLLOW
    };
    Op::new(StatxOp {
        _fd: None,
        dirfd: libc::AT_FDCWD,
        path: c_path(path.as_ref())?,
        flags,
        out: zeroed_statx(),
    })
    .await
}

/// `statx(2)` on an open fd (`AT_EMPTY_PATH`).
pub async fn statx_fd(fd: &SharedFd) -> io::Result<Statx> {
    Op::new(StatxOp {
        _fd: Some(fd.clone()),
        dirfd: fd.raw(),
        path: CString::default(),
        flags: libc::AT_EMPTY_PATH,
        out: zeroed_statx(),
    })
    .await
}

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

/// `cachestat(2)` (Linux 6.5); not in every libc binding yet, same number on every arch.
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
    let mut stat = [0u64; 5]; // nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted
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

struct ReadAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBufMut + Unpin> OpData for ReadAt<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let (ptr, len) = spare_capacity(&mut self.buf);
        opcode::Read::new(types::Fd(self.fd.raw()), ptr, len)
            .offset(self.offset)
            .build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        finish_read(c, self.buf)
    }
}

/// Reads at `offset` into the spare capacity of `buf`. `u64::MAX` as offset means "at
/// the current file position" (for pipes and sockets).
pub async fn read_at<B: IoBufMut + Unpin>(
    fd: &SharedFd,
    buf: B,
    offset: u64,
) -> (io::Result<usize>, B) {
    Op::new(ReadAt {
        fd: fd.clone(),
        buf,
        offset,
    })
    .await
}

struct WriteAt<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBuf + Unpin> OpData for WriteAt<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let (ptr, len) = (self.buf.stable_ptr(), sqe_len(self.buf.bytes_init()));
        opcode::Write::new(types::Fd(self.fd.raw()), ptr, len)
            .offset(self.offset)
            .build()
    }
    fn complete(self, c: Completion) -> Self::Output {
        (cqe_result(c).map(|n| n as usize), self.buf)
    }
}

/// Writes `buf` at `offset` (`u64::MAX`: at the current position).
pub async fn write_at<B: IoBuf + Unpin>(
    fd: &SharedFd,
    buf: B,
    offset: u64,
) -> (io::Result<usize>, B) {
    Op::new(WriteAt {
        fd: fd.clone(),
        buf,
        offset,
    })
    .await
}

struct Close {
    /// The fd number, owned by this op from creation: if the op is dropped unsubmitted,
    /// `Drop` closes it synchronously; once submitted, the kernel closes it.
    fd: Option<i32>,
}

impl OpData for Close {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Plain;
    fn sqe(&mut self) -> squeue::Entry {
        let fd = self.fd.take().expect("close submitted once");
        opcode::Close::new(types::Fd(fd)).build()
    }
    fn complete(self, c: Completion) -> io::Result<()> {
        cqe_result(c).map(drop)
    }
}

impl Drop for Close {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            sys::close_raw(fd);
        }
    }
}

/// Closes `fd` through the ring and reports the error `close(2)` gives, if any.
pub async fn close(fd: OwnedFd) -> io::Result<()> {
    Op::new(Close {
        fd: Some(fd.into_raw_fd()),
    })
    .await
}
