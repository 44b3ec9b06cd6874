//! A file response large enough to be spliced, served while the process has no free fd
//! (so `pipe2` fails with EMFILE): the client gets the whole body (read and sent instead)
//! or an error status, never a 200 head followed by a cut body.
//!
//! The fd table is really filled: the test (the server runs in this process) lowers its
//! soft `RLIMIT_NOFILE` and opens `/dev/null` until `open` fails. The file and the client
//! connection are opened before that, so the only fds the request would need are the
//! pipe's. This file holds one test, so nothing else in the process needs an fd meanwhile.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;

/// The shared test helpers' switch: plain HTTP here.
pub const OVER_TLS: bool = false;

use std::fs::File as StdFile;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::time::Duration;

use coreline_http::{response, Body, Server};
use coreline_runtime::fs::File;
use coreline_runtime::Cores;
use http::{Request, Response, StatusCode};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Spliced from 8 KiB up; this is well above.
const LEN: usize = 256 * 1024;

/// Files opened before the fd table is filled, one per request.
static OPENED: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

async fn handler(req: Request<Body>) -> Response<Body> {
    drop(req);
    match OPENED.lock().unwrap().pop() {
        Some(fd) => response(StatusCode::OK, Body::file(File::from(fd), LEN as u64)),
        None => response(StatusCode::SERVICE_UNAVAILABLE, Body::empty()),
    }
}

fn content() -> Vec<u8> {
    (0..LEN).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_spliced_file_without_a_free_fd_is_complete_or_an_error() {
    let dir = std::env::temp_dir().join(format!("coreline-emfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("body.bin");
    std::fs::write(&path, content()).unwrap();
    OPENED
        .lock()
        .unwrap()
        .push(StdFile::open(&path).unwrap().into());

    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .build(|| handler)
        .expect("build server");
    let server = common::run_on_thread(server);
    let mut client = TcpStream::connect(server.addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Wait until the server has accepted it (its fd exists) before the table fills.
    std::thread::sleep(Duration::from_millis(200));

    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, 1024.min(soft), hard).unwrap();
    let mut filler = Vec::new();
    while let Ok(f) = StdFile::open("/dev/null") {
        filler.push(f);
    }
    assert!(
        StdFile::open("/dev/null").is_err(),
        "the fd table is full: pipe2 must fail"
    );

    client
        .write_all(b"GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let read = client.read_to_end(&mut got);

    drop(filler);
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let head_end = common::find(&got, b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&got[..head_end]);
    if head.starts_with("HTTP/1.1 200 ") {
        assert!(read.is_ok(), "the connection ended cleanly: {read:?}");
        assert_eq!(
            got.len() - head_end,
            LEN,
            "a 200 carries the whole body, not a cut one: {head}"
        );
        assert!(got[head_end..] == content()[..], "and the right bytes");
    } else {
        assert!(
            head.starts_with("HTTP/1.1 5"),
            "otherwise an error status: {head}"
        );
    }
}
