//! Static files through the `coreline` binary, checked with real curl over loopback:
//! byte-exact downloads (sha256), concurrency, ranges, conditional requests, HEAD,
//! traversal attempts, FIFOs and files that shrink while being sent.
//!
//! `downloads`: whole files, ranges, conditional requests, HEAD. `refusals`: traversal and
//! dotfiles. `odd_files`: FIFOs and a file that shrinks mid-send. `page_cache`: a file not
//! in the page cache. This file: the server with its test root, and the clients.

mod downloads;
mod odd_files;
mod page_cache;
mod refusals;
#[path = "../common/served.rs"]
mod served;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use served::Served;

const SECRET: &str = "top secret outside the root";

/// A running `coreline serve --root`; its files are removed on drop.
struct StaticServer {
    served: Served,
    root: PathBuf,
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.served.child.kill();
        let _ = std::fs::remove_dir_all(self.root.parent().unwrap());
    }
}

impl StaticServer {
    fn url(&self, path: &str) -> String {
        self.served.url(path)
    }
}

/// A root with the test files, a secret beside it, and the server on one core.
fn serve(name: &str) -> StaticServer {
    serve_under(&std::env::temp_dir(), name)
}

/// [`serve`] with its files under `parent` instead of the temp dir.
fn serve_under(parent: &std::path::Path, name: &str) -> StaticServer {
    let base = parent.join(format!("coreline-static-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    for len in [0usize, 1, 4095, 4096, 65536, 1 << 20, 10 << 20] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(root.join(format!("f{len}.bin")), data).unwrap();
    }
    let sparse = std::fs::File::create(root.join("sparse.bin")).unwrap();
    sparse.set_len(100 << 20).unwrap();
    std::fs::write(root.join("dir/index.html"), "<p>index</p>").unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), root.join("escape")).unwrap();
    std::os::unix::fs::symlink("..", root.join("up")).unwrap();
    nix::unistd::mkfifo(&root.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let served = Served::start(&[OsStr::new("--root"), root.as_os_str()], Stdio::null);
    StaticServer { served, root }
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "-m", "60"])
        .args(args)
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

/// Sends a raw request and reads until the server closes (or 5 s pass).
fn raw(addr: SocketAddr, request: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}
