//! File metadata through the ring: statx on a path or an open fd.

use std::ffi::CString;
use std::io;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::convert::cqe_result;
use super::open::c_path;
use crate::driver::slot::{Completion, OpKind};
use crate::fd::SharedFd;
use crate::op::{Op, OpData};

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
    pub(super) fn from_raw(s: &libc::statx) -> Statx {
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

pub(super) fn zeroed_statx() -> Box<libc::statx> {
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
