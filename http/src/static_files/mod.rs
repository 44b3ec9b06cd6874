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
