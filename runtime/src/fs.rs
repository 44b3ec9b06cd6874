//! `File`: a regular file opened and read through the ring.

use std::io;
use std::path::Path;

use crate::buf::{IoBuf, IoBufMut};
use crate::fd::{AsSharedFd, SharedFd};
use crate::ops::{self, Statx};

/// An open file on the current core.
#[derive(Debug, Clone)]
pub struct File {
    fd: SharedFd,
}

impl File {
    /// Opens `path` read-only.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        Self::open_with(path, libc::O_RDONLY, 0).await
    }

    /// Creates (or truncates) `path` for writing, mode 0644.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        Self::open_with(path, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o644).await
    }

    /// Opens with explicit `open(2)` flags and mode (e.g. `O_NONBLOCK` so a FIFO cannot
    /// block the open).
    pub async fn open_with(path: impl AsRef<Path>, flags: i32, mode: u32) -> io::Result<File> {
        let fd = ops::open_at(path, flags, mode).await?;
        Ok(File {
            fd: SharedFd::new(fd),
        })
    }

    /// Reads at `offset` into the spare capacity of `buf`.
    pub async fn read_at<B: IoBufMut>(&self, buf: B, offset: u64) -> (io::Result<usize>, B) {
        ops::read_at(&self.fd, buf, offset).await
    }

    /// Writes `buf` at `offset`; may be partial.
    pub async fn write_at<B: IoBuf>(&self, buf: B, offset: u64) -> (io::Result<usize>, B) {
        ops::write_at(&self.fd, buf, offset).await
    }

    /// Metadata of the open file.
    pub async fn statx(&self) -> io::Result<Statx> {
        ops::statx_fd(&self.fd).await
    }

    /// Closes through the ring, reporting `close(2)` errors. If operations still hold the
    /// fd, it closes when the last one finishes and this returns `Ok`.
    pub async fn close(self) -> io::Result<()> {
        match self.fd.try_unwrap() {
            Ok(fd) => ops::close(fd).await,
            Err(_shared) => Ok(()),
        }
    }
}

impl From<std::os::fd::OwnedFd> for File {
    /// Wraps an fd opened elsewhere (e.g. by [`ops::open_at2`]).
    fn from(fd: std::os::fd::OwnedFd) -> File {
        File {
            fd: SharedFd::new(fd),
        }
    }
}

impl AsSharedFd for File {
    fn as_shared_fd(&self) -> &SharedFd {
        &self.fd
    }
}
