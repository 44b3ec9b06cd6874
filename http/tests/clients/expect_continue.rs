//! curl uploading with `Expect: 100-continue`: the interim response, then the echo; over
//! the body limit, 413 before the body.

use std::time::Duration;

use crate::tools::{run, Output};
use crate::Server;

/// A scratch directory for one test, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("coreline-clients-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch(dir)
    }

    fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic bytes that are not all alike.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn curl_expect_100_continue_echo_then_413_over_the_limit() {
    let server = Server::start();
    let dir = Scratch::new("expect");
    let url = server.url("/echo");

    // 300 KB with `Expect: 100-continue`: the server must say 100 Continue, then echo it all.
    let sent = pattern(300_000);
    std::fs::write(dir.path("up"), &sent).unwrap();
    let out = curl_expect_upload(
        &url,
        &dir.path("up"),
        &dir.path("head"),
        &dir.path("down"),
        "%{http_code} %{size_download}",
    );
    assert!(out.success, "curl failed\n{}", out.describe());
    assert_eq!(out.stdout, "200 300000", "\n{}", out.describe());
    let head = std::fs::read_to_string(dir.path("head")).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "expected an interim 100 Continue, then 200:\n{head}"
    );
    assert!(
        std::fs::read(dir.path("down")).unwrap() == sent,
        "the echo differs from what was sent"
    );

    // 2 MB, over the default 1 MiB body limit: 413 and Connection: close, before the body.
    std::fs::write(dir.path("big"), pattern(2_000_000)).unwrap();
    let out = curl_expect_upload(
        &url,
        &dir.path("big"),
        &dir.path("head413"),
        "/dev/null",
        "%{http_code}",
    );
    assert_eq!(out.stdout, "413", "\n{}", out.describe());
    let head = std::fs::read_to_string(dir.path("head413"))
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 413 ") && head.contains("\r\nconnection: close\r\n"),
        "expected 413 with Connection: close:\n{head}"
    );
}

/// `curl` uploading `file` to `url` with `Expect: 100-continue`, saving the response head
/// (with any interim response) to `head` and the body to `body`; prints `write_out`.
fn curl_expect_upload(url: &str, file: &str, head: &str, body: &str, write_out: &str) -> Output {
    let data = format!("@{file}");
    let args = [
        "-sS",
        "--max-time",
        "10",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &data,
        "-D",
        head,
        "-o",
        body,
        "-w",
        write_out,
        url,
    ];
    run("curl", &args, Duration::from_secs(20))
}
