//! `coreline serve --root DIR`: files win. `/` is DIR's `index.html`, a directory's
//! `index.html` answers for it, and files named `plaintext` or `echo` (present at start)
//! take over those fixed routes. Without `--root`, `/` is the route list, which names no
//! filesystem path.

#[path = "common/mod.rs"]
mod common;
#[path = "common/served.rs"]
mod served;

/// The binary tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use common::one;
use served::Served;

fn get(addr: SocketAddr, target: &str) -> common::Resp {
    one(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .0
}

/// A fresh root named after this test.
fn fresh_root(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("coreline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("sub")).unwrap();
    root
}

#[test]
fn files_win_over_the_fixed_routes() {
    let root = fresh_root("routes-files");
    std::fs::write(root.join("index.html"), "<p>home</p>").unwrap();
    std::fs::write(root.join("sub/index.html"), "<p>sub</p>").unwrap();
    std::fs::write(root.join("plaintext"), "a file named plaintext\n").unwrap();
    std::fs::create_dir(root.join("echo")).unwrap();
    std::fs::write(root.join("echo/index.html"), "<p>echo dir</p>").unwrap();
    let s = Served::start(&["--root", root.to_str().unwrap()], Stdio::null);

    let r = get(s.addr, "/");
    assert_eq!((r.status, r.body_str()), (200, "<p>home</p>"));
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(get(s.addr, "/index.html").body_str(), "<p>home</p>");
    assert_eq!(get(s.addr, "/sub/").body_str(), "<p>sub</p>");
    let r = get(s.addr, "/plaintext");
    assert_eq!((r.status, r.body_str()), (200, "a file named plaintext\n"));
    assert_eq!(get(s.addr, "/echo").body_str(), "<p>echo dir</p>");
    // The file server answers /echo now: a body is no longer echoed.
    let (r, _) = one(
        s.addr,
        b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
    );
    assert_eq!(r.status, 405);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn fixed_routes_answer_when_no_file_has_their_name() {
    let root = fresh_root("routes-fixed");
    let s = Served::start(&["--root", root.to_str().unwrap()], Stdio::null);
    let r = get(s.addr, "/plaintext");
    assert_eq!((r.status, r.body_str()), (200, "Hello, World!"));
    let (r, _) = one(
        s.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz",
    );
    assert_eq!((r.status, r.body_str()), (200, "xyz"));
    let r = get(s.addr, "/");
    assert_eq!(r.status, 404, "no index.html: no route list either");
    assert!(!r.body_str().contains(root.to_str().unwrap()));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_route_list_names_no_path() {
    let s = Served::start::<&str>(&[], Stdio::null);
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let page = r.body_str();
    assert!(
        page.contains("/plaintext") && page.contains("/echo"),
        "{page}"
    );
    let cwd = std::env::current_dir().unwrap();
    assert!(!page.contains(cwd.to_str().unwrap()), "{page}");
    assert!(!page.contains("/tmp"), "{page}");
}
