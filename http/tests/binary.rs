//! The `coreline` binary: routes, files under `--root` (and what it refuses), graceful exit
//! on SIGTERM, and one-line errors with exit status 2.

#[path = "common/mod.rs"]
mod common;
#[path = "common/served.rs"]
mod served;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{one, Client};

/// The binary tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use served::Served;

const BIN: &str = env!("CARGO_BIN_EXE_coreline");

fn serve(extra: &[&str]) -> Served {
    Served::start(extra, Stdio::piped)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run coreline")
}

/// A fresh directory tree for `--root`, plus a secret beside it.
fn tree() -> PathBuf {
    let base = std::env::temp_dir().join(format!("coreline-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(base.join("secret.txt"), "top secret").unwrap();
    std::fs::write(root.join("a.txt"), "file a\n").unwrap();
    std::fs::write(root.join("big.bin"), big_content()).unwrap();
    std::fs::write(root.join("sub/b.css"), "body{}").unwrap();
    std::fs::write(root.join("docs/index.html"), "<p>docs</p>").unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), root.join("escape")).unwrap();
    std::os::unix::fs::symlink(root.join("a.txt"), root.join("inside")).unwrap();
    // Absolute symlinks inside the root: to a directory (a file under it, its index),
    // through a chain, and one that reaches outside only through a parent link.
    std::os::unix::fs::symlink(root.join("docs"), root.join("abs-docs")).unwrap();
    std::os::unix::fs::symlink(root.join("inside"), root.join("abs-chain")).unwrap();
    std::os::unix::fs::symlink(root.join("sub/.."), root.join("abs-up")).unwrap();
    std::os::unix::fs::symlink(root.join(".."), root.join("abs-out")).unwrap();
    nix::unistd::mkfifo(&root.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    root
}

/// 300,001 bytes: several read chunks, not a multiple of any buffer size.
fn big_content() -> Vec<u8> {
    (0..300_001u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn get(addr: SocketAddr, target: &str) -> common::Resp {
    one(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .0
}

#[test]
fn routes_and_files() {
    let root = tree();
    let s = serve(&["--root", root.to_str().unwrap()]);
    let r = get(s.addr, "/plaintext");
    assert_eq!((r.status, r.body_str()), (200, "Hello, World!"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("server"), Some("coreline"));
    assert!(r.header("date").is_some());
    // With --root, `/` is the root's index.html: none here, and the path is never shown.
    let r = get(s.addr, "/");
    assert_eq!(r.status, 404);
    assert!(!r.body_str().contains(root.to_str().unwrap()));
    let (r, _) = one(
        s.addr,
        b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
    );
    assert_eq!((r.status, r.body_str()), (200, "abcd"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));

    let r = get(s.addr, "/a.txt");
    assert_eq!((r.status, r.body_str()), (200, "file a\n"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let (r, _) = one(s.addr, b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((r.status, r.header("content-length")), (200, Some("7")));
    assert_eq!(
        get(s.addr, "/sub/b.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(get(s.addr, "/docs/").body_str(), "<p>docs</p>");
    assert_eq!(
        get(s.addr, "/inside").body_str(),
        "file a\n",
        "symlinks within the root are fine"
    );
    assert_eq!(
        get(s.addr, "/abs-docs/index.html").body_str(),
        "<p>docs</p>"
    );
    assert_eq!(get(s.addr, "/abs-docs/").body_str(), "<p>docs</p>");
    assert_eq!(get(s.addr, "/abs-chain").body_str(), "file a\n");
    assert_eq!(get(s.addr, "/abs-up/a.txt").body_str(), "file a\n");
    assert_eq!(get(s.addr, "/docs/../a.txt").status, 400);
    let big = get(s.addr, "/big.bin");
    assert_eq!(big.header("content-type"), Some("application/octet-stream"));
    assert!(
        big.body == big_content(),
        "a multi-chunk file arrives intact"
    );
    assert_eq!(get(s.addr, "/missing").status, 404);
    assert_eq!(
        get(s.addr, "/sub").status,
        404,
        "a directory without index.html"
    );
    let (r, _) = one(s.addr, b"DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 405);

    // Refused: traversal (plain and percent-encoded), symlinks out of the root, FIFOs.
    for bad in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/%2E%2E/%2e%2e/secret.txt",
        "/sub/..%2F..%2Fsecret.txt",
    ] {
        let r = get(s.addr, bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(!r.body_str().contains("secret"), "{bad}");
    }
    let r = get(s.addr, "/escape");
    assert_eq!(r.status, 404, "symlink escaping the root");
    for out in [
        "/abs-out/secret.txt",
        "/abs-out/root/../secret.txt",
        "/abs-out",
    ] {
        let r = get(s.addr, out);
        assert!(r.status == 404 || r.status == 400, "{out}: {}", r.status);
        assert!(!r.body_str().contains("secret"), "{out}");
    }
    let t = Instant::now();
    assert_eq!(get(s.addr, "/fifo").status, 404, "a FIFO is never opened");
    assert!(t.elapsed() < Duration::from_secs(2));
    let _ = std::fs::remove_dir_all(root.parent().unwrap());
}

#[test]
fn sigterm_shuts_down_gracefully_with_status_0() {
    let mut s = serve(&[]);
    let mut c = Client::connect(s.addr);
    c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(false).status, 200);
    kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(
        c.closed_within(Duration::from_secs(3)),
        "idle connection closed"
    );
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < end, "coreline did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0));
}

fn one_line_error(out: &Output, mentions: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(mentions), "{err}");
}

#[test]
fn bad_flags_busy_address_and_bad_root_exit_2() {
    one_line_error(&run(&["serve", "--nope"]), "--nope");
    one_line_error(&run(&["serve", "--listen", "nowhere"]), "nowhere");
    one_line_error(&run(&["serve", "--backlog", "-3"]), "backlog");
    one_line_error(&run(&["serve", "--tcp-nodelay", "maybe"]), "--tcp-nodelay");
    one_line_error(&run(&["serve", "--tcp-fastopen", "0"]), "--tcp-fastopen");
    one_line_error(&run(&["serve", "--cpus", "9999"]), "9999");
    one_line_error(
        &run(&["serve", "--root", "/definitely/not/here"]),
        "/definitely/not/here",
    );
    let file = std::env::temp_dir().join(format!("coreline-file-{}", std::process::id()));
    std::fs::write(&file, "x").unwrap();
    one_line_error(
        &run(&["serve", "--root", file.to_str().unwrap()]),
        "not a directory",
    );
    let _ = std::fs::remove_file(&file);
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    one_line_error(&run(&["serve", "--listen", &addr]), "in use");
    let help = run(&["serve", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: coreline serve"));
    assert!(Path::new(BIN).exists());
}

#[test]
fn help_into_a_closed_pipe_exits_quietly() {
    // As in `coreline --help | head -1`: the reader is gone before the text is written.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .arg("--help")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
