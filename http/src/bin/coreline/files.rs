//! Files under `--root`: GET and HEAD, Content-Type by extension, no escaping the root.
//!
//! Refused before touching the file system: a path segment that is `.` or `..` (also
//! percent-encoded, e.g. `%2e%2E`), one that decodes to something containing `/` or NUL,
//! and bad percent-escapes (400). Then the path is resolved with `realpath` and must stay
//! inside the (resolved) root, so a symlink pointing outside is a 404; the final file is
//! checked with `statx` *before* it is opened (non-regular files — FIFOs, devices,
//! sockets, directories — are never opened), opened with `O_NOFOLLOW | O_NONBLOCK`, and
//! checked again on the open fd (same inode, still regular). A directory serves its
//! `index.html` if it has one.
//!
//! Known gap, left to the zero-copy static-files issue: `realpath` is a blocking call on
//! the core, and a directory swapped for a symlink between it and the open is not caught
//! (`openat2` with `RESOLVE_BENEATH` closes both).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use coreline_http::{recycle, response, Body};
use coreline_runtime::fs::File;
use coreline_runtime::ops;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};

/// The file root.
#[derive(Debug, Clone)]
pub struct Files {
    root: PathBuf,
}

impl Files {
    /// Checks that `root` is a readable directory.
    pub fn new(root: &Path) -> Result<Files, String> {
        let shown = root.display();
        let canonical = std::fs::canonicalize(root).map_err(|e| format!("--root {shown}: {e}"))?;
        if !canonical.is_dir() {
            return Err(format!("--root {shown}: not a directory"));
        }
        std::fs::read_dir(&canonical)
            .map_err(|e| format!("--root {shown}: cannot read it: {e}"))?;
        Ok(Files { root: canonical })
    }

    /// The resolved root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers a GET or HEAD for a file.
    pub async fn serve(files: Rc<Files>, req: Request<Body>) -> Response<Body> {
        let relative = decode_path(req.uri().path());
        recycle(req);
        let relative = match relative {
            Ok(r) => r,
            Err(status) => return plain(status),
        };
        match files.open(&relative).await {
            Ok((file, len, path)) => {
                let mut res = response(StatusCode::OK, Body::file(file, len));
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
                res
            }
            Err(status) => plain(status),
        }
    }

    /// Resolves, checks and opens a file; `Err` is the status to answer.
    async fn open(&self, relative: &Path) -> Result<(File, u64, PathBuf), StatusCode> {
        let mut path = self.resolve(&self.root.join(relative))?;
        let mut stat = ops::statx(&path, false).await.map_err(status_for)?;
        if stat.is_dir() {
            path = self.resolve(&path.join("index.html"))?;
            stat = ops::statx(&path, false).await.map_err(status_for)?;
        }
        if !stat.is_file() {
            return Err(StatusCode::NOT_FOUND);
        }
        let flags = libc_flags();
        let file = File::open_with(&path, flags, 0).await.map_err(status_for)?;
        let opened = file.statx().await.map_err(status_for)?;
        if !opened.is_file() || opened.ino != stat.ino {
            return Err(StatusCode::NOT_FOUND); // swapped between the check and the open
        }
        Ok((file, opened.size, path))
    }

    /// `realpath`, which must stay under the root.
    fn resolve(&self, path: &Path) -> Result<PathBuf, StatusCode> {
        let real = std::fs::canonicalize(path).map_err(status_for)?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(StatusCode::NOT_FOUND)
        }
    }
}

/// `O_RDONLY | O_NONBLOCK | O_NOFOLLOW` (a FIFO cannot block the open; a final symlink
/// fails it).
fn libc_flags() -> i32 {
    use nix::fcntl::OFlag;
    (OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW).bits()
}

fn status_for(e: std::io::Error) -> StatusCode {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::NOT_FOUND,
    }
}

fn plain(status: StatusCode) -> Response<Body> {
    let body: &'static str = match status {
        StatusCode::BAD_REQUEST => "bad path\n",
        StatusCode::FORBIDDEN => "forbidden\n",
        _ => "not found\n",
    };
    let mut res = response(status, Body::from(body));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    res
}

/// Percent-decodes the URI path into a relative path, refusing traversal.
fn decode_path(path: &str) -> Result<PathBuf, StatusCode> {
    let mut out = PathBuf::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let bytes = percent_decode(segment.as_bytes()).ok_or(StatusCode::BAD_REQUEST)?;
        if bytes == b"." || bytes == b".." || bytes.iter().any(|&b| b == b'/' || b == 0) {
            return Err(StatusCode::BAD_REQUEST);
        }
        out.push(OsStr::from_bytes(&bytes));
    }
    Ok(out)
}

fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex(*s.get(i + 1)?)?;
            let lo = hex(*s.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "/../etc/passwd",
            "/a/%2e%2e/b",
            "/%2E%2e",
            "/./x",
            "/a%2Fb",
            "/a%00",
            "/%zz",
        ] {
            assert_eq!(decode_path(bad), Err(StatusCode::BAD_REQUEST), "{bad}");
        }
        assert_eq!(decode_path("/a/b%20c.txt"), Ok(PathBuf::from("a/b c.txt")));
        assert_eq!(decode_path("//x//"), Ok(PathBuf::from("x")));
        assert_eq!(decode_path("/..."), Ok(PathBuf::from("...")));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("a/B.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }
}
