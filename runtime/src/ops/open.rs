//! Opening and closing files through the ring: openat, openat2, close.

use std::ffi::CString;
use std::io;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::convert::cqe_result;
use crate::driver::slot::{Completion, OpKind};
use crate::fd::SharedFd;
use crate::op::{Op, OpData};
use crate::sys;

/// `path` as the NUL-terminated string the kernel reads.
pub(super) fn c_path(path: &Path) -> io::Result<CString> {
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
