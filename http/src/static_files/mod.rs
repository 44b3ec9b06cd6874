//! A static file server for a directory: GET and HEAD, validators, conditional requests,
//! single byte ranges, bodies sent zero-copy (splice) by the connection.
//!
//! Every path is opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` relative
//! to the root's fd, so the kernel refuses `..`, absolute paths and symlinks (at any
//! depth) that would leave the root, with no check-then-use race and no blocking call on
//! the core. A path is first opened `O_PATH` (nothing is opened for reading) and checked
//! with `statx` on that fd: only a regular file is then opened for reading, through
//! `/proc/self/fd/N` of the `O_PATH` fd, so the inode checked is the inode read (its type
//! cannot change) and a FIFO or device is never opened (opening a FIFO would release a
//! writer blocked in its own open). A directory serves its `index.html` (looked up
//! beneath the directory's fd the same way), else 404.
//!
//! Each core keeps the files it opened in a small cache (`cache`: what a hit skips, and
//! how a changed, replaced or deleted file is noticed). `statx` on an open fd is a direct
//! call (`ops::direct::statx_fd_now`): the ring's STATX always takes an io-wq thread hand-off.

mod cache;
mod cond;
mod mime;
mod open;
mod path;

use std::path::{Path, PathBuf};

use http::header::{ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use http::{HeaderValue, Method, Request, Response, StatusCode};

pub use cond::{range, Ranged, Validators};
pub use mime::content_type;
pub use path::decode_path;

use crate::{recycle, response, Body};
use cache::Opened;
<<<<<<< HEAD
=======
use cond::Ranged;
>>>>>>> s4-small

/// Serves the files under one directory (see the module docs for what is refused).
#[derive(Debug, Clone)]
pub struct StaticFiles {
    root: PathBuf,
    /// Names this root in the per-core open-file cache (clones share it).
    id: usize,
    /// Files each core may keep open for this root (`cache::max_entries`).
    cache_max: usize,
}

/// Ids for [`StaticFiles`] instances.
static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl StaticFiles {
    /// Checks that `root` is a readable directory and remembers its canonical path.
    pub fn new(root: &Path) -> Result<StaticFiles, String> {
        let shown = root.display();
        let canonical = std::fs::canonicalize(root).map_err(|e| format!("--root {shown}: {e}"))?;
        if !canonical.is_dir() {
            return Err(format!("--root {shown}: not a directory"));
        }
        std::fs::read_dir(&canonical)
            .map_err(|e| format!("--root {shown}: cannot read it: {e}"))?;
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(StaticFiles {
            root: canonical,
            id,
            cache_max: cache::max_entries(),
        })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers a request for a file (GET or HEAD; other methods get 405).
    pub async fn serve(&self, req: Request<Body>) -> Response<Body> {
        let res = self.answer(&req).await;
        recycle(req);
        res.unwrap_or_else(plain)
    }

    async fn answer(&self, req: &Request<Body>) -> Result<Response<Body>, StatusCode> {
        let is_get = req.method() == Method::GET;
        if !is_get && req.method() != Method::HEAD {
            return Err(StatusCode::METHOD_NOT_ALLOWED);
        }
        let relative = path::decode_path(req.uri().path())?;
        let Opened {
            file,
            stat,
            content_type,
            validators: v,
        } = self.open(&relative).await?;
        let size = stat.size;
        let mut res = if v.not_modified(req.headers()) {
            response(StatusCode::NOT_MODIFIED, Body::empty())
        } else {
            // Range only applies to GET (§14.2); HEAD describes the whole file.
            let ranged = if is_get {
                cond::range(req.headers(), size, &v)
            } else {
                Ranged::Whole
            };
            let mut res = match ranged {
                Ranged::Whole => response(StatusCode::OK, Body::file(file, size)),
                Ranged::Part { start, len } => {
                    let mut res = response(
                        StatusCode::PARTIAL_CONTENT,
                        Body::file_range(file, start, len),
                    );
                    let range = format!("bytes {start}-{}/{size}", start + len - 1);
                    res.headers_mut().insert(CONTENT_RANGE, value(range));
                    res
                }
                Ranged::Unsatisfiable => {
                    let mut res = response(StatusCode::RANGE_NOT_SATISFIABLE, Body::empty());
                    res.headers_mut()
                        .insert(CONTENT_RANGE, value(format!("bytes */{size}")));
                    return Ok(res);
                }
            };
            let headers = res.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            res
        };
        let headers = res.headers_mut();
        headers.insert(ETAG, v.etag);
        headers.insert(LAST_MODIFIED, v.last_modified);
        Ok(res)
    }

    /// The open file for `relative`: from the core's open-file cache if still valid
    /// (see `cache`), else opened beneath the root and cached.
    async fn open(&self, relative: &Path) -> Result<Opened, StatusCode> {
        if let Some(hit) = cache::lookup(self.id, relative) {
            return Ok(hit);
        }
        let opened = self.open_uncached(relative).await?;
        cache::insert(self.id, relative, &opened, self.cache_max);
        Ok(opened)
    }
<<<<<<< HEAD

    /// Opens a regular file beneath the root (or a directory's `index.html`). Metadata
    /// comes from `statx_fd_now` (the ring's STATX would cost an io-wq hand-off).
    async fn open_uncached(&self, relative: &Path) -> Result<Opened, StatusCode> {
        let root = root_fd(&self.root).map_err(status_for)?;
        let rel = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative
        };
        let mut file = File::from(self.open_beneath(&root, &root, rel, rel).await?);
        let mut stat = stat_now(&file)?;
        let mut name = relative.to_path_buf();
        if stat.is_dir() {
            let dir = file.as_shared_fd().clone();
            name.push("index.html");
            let index = Path::new("index.html");
            file = File::from(self.open_beneath(&root, &dir, index, &name).await?);
            stat = stat_now(&file)?;
        }
        if !stat.is_file() {
            return Err(StatusCode::NOT_FOUND); // FIFO, device, socket: never read
        }
        Ok(Opened {
            file,
            stat,
            content_type: content_type(&name),
            validators: Validators::new(stat.size, stat.mtime_sec, stat.mtime_nsec),
        })
    }
}

fn stat_now(file: &File) -> Result<ops::Statx, StatusCode> {
    ops::direct::statx_fd_now(file.as_shared_fd()).map_err(status_for)
}

impl StaticFiles {
    /// Opens `rel` beneath `dir`. The kernel refuses any absolute symlink with `EXDEV`,
    /// even one pointing inside the root. For those (rare) the path from the root
    /// (`from_root`) is followed without restriction, through the ring and as `O_PATH`
    /// (nothing is opened for reading: a FIFO cannot block), the kernel is asked where
    /// that landed (`/proc/self/fd/N`: the dentry is pinned by the fd, so no disk I/O
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
        let mut first = ops::open_at2(dir, rel, libc_flags(), RESOLVE).await;
        if matches!(&first, Err(e) if out_of_fds(e)) {
            cache::clear(); // the cached files give their fds back
            first = ops::open_at2(dir, rel, libc_flags(), RESOLVE).await;
        }
        match first {
            Err(e) if e.raw_os_error() == Some(nix::libc::EXDEV) => {
                let from_root = if from_root.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    from_root
                };
                let landed = ops::open_at2(root, from_root, nix::libc::O_PATH, 0)
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
                ops::open_at2(root, inside, libc_flags(), RESOLVE)
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

/// `O_RDONLY | O_NONBLOCK | O_NOCTTY`: a FIFO cannot block the open.
fn libc_flags() -> i32 {
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

fn status_for(e: io::Error) -> StatusCode {
    match e.kind() {
        io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::NOT_FOUND,
    }
=======
>>>>>>> s4-small
}

fn value(s: String) -> HeaderValue {
    HeaderValue::try_from(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn plain(status: StatusCode) -> Response<Body> {
    let body: &'static str = match status {
        StatusCode::BAD_REQUEST => "bad path\n",
        StatusCode::FORBIDDEN => "forbidden\n",
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed\n",
        _ => "not found\n",
    };
    let mut res = response(status, Body::from(body));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    res
}
