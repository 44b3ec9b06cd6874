//! Finding and opening a file beneath the root: looked up `O_PATH` with `openat2`
//! (`RESOLVE_BENEATH`), checked with `statx`, and only a regular file opened for reading
//! (see the module docs of `static_files`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use coreline_runtime::fs::File;
use coreline_runtime::{ops, SharedFd};
use http::StatusCode;

use super::cache::{self, Opened};
use super::cond::Validators;
use super::{content_type, StaticFiles};

const RESOLVE: u64 = libc_resolve();

const fn libc_resolve() -> u64 {
    // RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (linux/openat2.h).
    0x08 | 0x02
}

impl StaticFiles {
    /// Opens a regular file beneath the root (or a directory's `index.html`). Metadata
    /// comes from `statx_fd_now` (the ring's STATX would cost an io-wq hand-off).
    pub(super) async fn open_uncached(&self, relative: &Path) -> Result<Opened, StatusCode> {
        let root = root_fd(&self.root).map_err(status_for)?;
        let rel = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative
        };
        let mut found = SharedFd::new(self.open_beneath(&root, &root, rel, rel).await?);
        let mut stat = stat_now(&found)?;
        let mut name = relative.to_path_buf();
        if stat.is_dir() {
            name.push("index.html");
            let index = Path::new("index.html");
            found = SharedFd::new(self.open_beneath(&root, &found, index, &name).await?);
            stat = stat_now(&found)?;
        }
        if !stat.is_file() {
            return Err(StatusCode::NOT_FOUND); // FIFO, device, socket: never opened
        }
        let file = File::from(reopen_for_reading(&found).await.map_err(status_for)?);
        Ok(Opened {
            file,
            stat,
            content_type: content_type(&name),
            validators: Validators::new(stat.size, stat.mtime_sec, stat.mtime_nsec),
        })
    }
}

/// Opens the file an `O_PATH` fd names for reading, through its `/proc/self/fd/N`
/// link: the same inode, with the access check an open by name makes. The path is
/// absolute, so `openat2` ignores the directory fd; passing `path_fd` there keeps it
/// open until the kernel is done (also if this future is dropped), so `N` cannot
/// name another file meanwhile.
async fn reopen_for_reading(path_fd: &SharedFd) -> io::Result<OwnedFd> {
    let link = format!("/proc/self/fd/{}", path_fd.raw());
    let mut opened = ops::open_at2(path_fd, &link, read_flags(), 0).await;
    if matches!(&opened, Err(e) if out_of_fds(e)) {
        cache::clear(); // the cached files give their fds back
        opened = ops::open_at2(path_fd, &link, read_flags(), 0).await;
    }
    opened
}

fn stat_now(fd: &SharedFd) -> Result<ops::Statx, StatusCode> {
    ops::direct::statx_fd_now(fd).map_err(status_for)
}

impl StaticFiles {
    /// Opens `rel` beneath `dir` as `O_PATH` (see the module docs). The kernel refuses
    /// any absolute symlink with `EXDEV`, even one pointing inside the root. For those
    /// (rare) the path from the root (`from_root`) is followed without restriction,
    /// through the ring and also as `O_PATH`, the kernel is asked where that landed (`/proc/self/fd/N`: the dentry is pinned by the fd, so no disk I/O
    /// and no blocking `realpath` walk on the core), and only if that is inside the root
    /// is it opened beneath the root again, so `RESOLVE_BENEATH` still has the last word
    /// (a symlink swapped in between is refused then).
    async fn open_beneath(
        &self,
        root: &SharedFd,
        dir: &SharedFd,
        rel: &Path,
        from_root: &Path,
    ) -> Result<OwnedFd, StatusCode> {
        let mut first = ops::open_at2(dir, rel, PATH_ONLY, RESOLVE).await;
        if matches!(&first, Err(e) if out_of_fds(e)) {
            cache::clear(); // the cached files give their fds back
            first = ops::open_at2(dir, rel, PATH_ONLY, RESOLVE).await;
        }
        match first {
            Err(e) if e.raw_os_error() == Some(nix::libc::EXDEV) => {
                let from_root = if from_root.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    from_root
                };
                let landed = ops::open_at2(root, from_root, PATH_ONLY, 0)
                    .await
                    .map_err(status_for)?;
                let real = std::fs::read_link(format!("/proc/self/fd/{}", landed.as_raw_fd()))
                    .map_err(status_for)?;
                drop(landed);
                let inside = real
                    .strip_prefix(&self.root)
                    .map_err(|_| StatusCode::NOT_FOUND)?;
                let inside = if inside.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    inside
                };
                ops::open_at2(root, inside, PATH_ONLY, RESOLVE)
                    .await
                    .map_err(status_for)
            }
            other => other.map_err(status_for),
        }
    }
}

fn out_of_fds(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EMFILE | nix::libc::ENFILE)
    )
}

/// Looks a path up without opening it for reading (no FIFO or device is opened).
const PATH_ONLY: i32 = nix::libc::O_PATH;

/// `O_RDONLY | O_NONBLOCK | O_NOCTTY`, for a file known to be regular.
fn read_flags() -> i32 {
    use nix::fcntl::OFlag;
    (OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits()
}

thread_local! {
    /// The root directory's fd, opened once per core per root.
    static ROOTS: std::cell::RefCell<Vec<(PathBuf, SharedFd)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn root_fd(root: &Path) -> io::Result<SharedFd> {
    ROOTS.with(|roots| {
        let mut roots = roots.borrow_mut();
        if let Some((_, fd)) = roots.iter().find(|(p, _)| p == root) {
            return Ok(fd.clone());
        }
        let fd = SharedFd::new(OwnedFd::from(std::fs::File::open(root)?));
        roots.push((root.to_path_buf(), fd.clone()));
        Ok(fd)
    })
}

pub(super) fn status_for(e: io::Error) -> StatusCode {
    match e.kind() {
        io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::NOT_FOUND,
    }
}
