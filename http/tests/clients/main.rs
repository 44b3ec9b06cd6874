//! Real clients against the `coreline` binary: curl (keep-alive, `Expect: 100-continue`), Python's `http.client`, ApacheBench
//! (`ab -k`), h2load (`--h1`, pipelined) and wrk. Each test starts its own
//! `coreline serve --listen 127.0.0.1:PORT --cpus 0` on a free port, waits until it accepts,
//! runs one tool and asserts on the tool's own output; the server is killed when the test ends.
//!
//! A missing tool fails the test with a message saying to run `ci/test.sh`, which installs
//! them (curl, python3, apache2-utils, nghttp2-client, wrk).

#[path = "common/served.rs"]
mod served;
#[path = "common/tools.rs"]
mod tools;

use std::process::Stdio;

use served::Served;
use std::time::Duration;
use tools::{field, run, Output};

/// The server under test; killed (and reaped) on drop, also when an assertion fails.
struct Server(Served);

impl Server {
    /// Starts `coreline serve` on a free loopback port, pinned to CPU 0.
    fn start() -> Server {
        Server(Served::start::<&str>(&[], Stdio::null))
    }

    fn url(&self, path: &str) -> String {
        self.0.url(path)
    }
}

#[test]
fn curl_two_requests_share_one_connection() {
    let server = Server::start();
    let url = server.url("/plaintext");
    let out = run(
        "curl",
        &[
            "-sS",
            "-i",
            "--max-time",
            "10",
            "-w",
            "\n[num_connects=%{num_connects} http_code=%{http_code}]\n",
            &url,
            &url,
        ],
        Duration::from_secs(20),
    );
    assert!(out.success, "curl failed\n{}", out.describe());
    let text = out.stdout.replace("\r\n", "\n");

    // One transfer per URL, each followed by curl's write-out line.
    let (mut rest, mut connects, mut responses) = (text.as_str(), Vec::new(), Vec::new());
    while let Some((response, after)) = rest.split_once("\n[num_connects=") {
        let (write_out, next) = after.split_once("]\n").unwrap_or((after, ""));
        responses.push(response);
        connects.push(write_out);
        rest = next;
    }
    assert_eq!(
        connects,
        ["1 http_code=200", "0 http_code=200"],
        "the second request must reuse the first one's connection (num_connects 1 then 0)\n{}",
        out.describe()
    );
    for (i, t) in responses.iter().enumerate() {
        let (head, body) = t
            .split_once("\n\n")
            .unwrap_or_else(|| panic!("response {i} has no blank line after its head\n{t}"));
        let mut lines = head.lines();
        assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"), "response {i}\n{t}");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("server"), Some("coreline"), "response {i}\n{t}");
        let date = get("date").unwrap_or_else(|| panic!("response {i} has no Date\n{t}"));
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
        assert!(
            date.len() == 29 && date.ends_with(" GMT") && date.as_bytes()[3] == b',',
            "response {i}: Date '{date}' is not an IMF-fixdate"
        );
        assert_eq!(get("content-length"), Some("13"), "response {i}\n{t}");
        assert!(
            get("content-type").is_some_and(|v| v.starts_with("text/plain")),
            "response {i}: Content-Type must be text/plain\n{t}"
        );
        assert_eq!(body, "Hello, World!", "response {i}");
    }
}

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

/// Python's standard client: two GETs on one `HTTPConnection` (keep-alive), then a chunked
/// upload to /echo on the same connection, which must come back byte for byte.
const PYTHON_CLIENT: &str = include_str!("scripts/python_client.py");

#[test]
fn python_http_client_keep_alive_and_chunked_upload() {
    let server = Server::start();
    let port = server.0.addr.port().to_string();
    let out = run(
        "python3",
        &["-c", PYTHON_CLIENT, &port],
        Duration::from_secs(30),
    );
    assert!(out.success, "the Python client failed\n{}", out.describe());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "get1 200 b'Hello, World!' server=coreline date=True close=False",
            "get2 200 b'Hello, World!' server=coreline date=True close=False",
            "keep-alive same-socket=True",
            "echo 200 sent=74110 got=74110 equal=True same-socket=True",
        ],
        "\n{}",
        out.describe()
    );
}

#[test]
fn ab_http10_keep_alive() {
    let server = Server::start();
    let out = run(
        "ab",
        &[
            "-k",
            "-n",
            "2000",
            "-c",
            "10",
            "-s",
            "10",
            &server.url("/plaintext"),
        ],
        Duration::from_secs(60),
    );
    assert!(out.success, "ab failed\n{}", out.describe());
    let o = &out.stdout;
    assert_eq!(field(o, "Server Software"), Some("coreline"), "\n{o}");
    assert_eq!(field(o, "Document Length"), Some("13 bytes"), "\n{o}");
    assert_eq!(field(o, "Complete requests"), Some("2000"), "\n{o}");
    assert_eq!(field(o, "Failed requests"), Some("0"), "\n{o}");
    assert_eq!(
        field(o, "Keep-Alive requests"),
        Some("2000"),
        "every HTTP/1.0 keep-alive request must be answered with keep-alive\n{o}"
    );
    assert_eq!(field(o, "Non-2xx responses"), None, "\n{o}");
}

#[test]
fn h2load_h1_pipelined_16_all_2xx() {
    let server = Server::start();
    let out = run(
        "h2load",
        &[
            "--h1",
            "-n",
            "20000",
            "-c",
            "10",
            "-m",
            "16",
            "-T",
            "10",
            &server.url("/plaintext"),
        ],
        Duration::from_secs(60),
    );
    assert!(out.success, "h2load failed\n{}", out.describe());
    let o = &out.stdout;
    // "requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout"
    let requests = field(o, "requests").unwrap_or_else(|| panic!("no requests line\n{o}"));
    let count = |line: &str, what: &str| -> u64 {
        line.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_suffix(what).map(str::trim))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no '{what}' count in '{line}'\n{o}"))
    };
    assert_eq!(count(requests, "succeeded"), 20000, "\n{o}");
    assert_eq!(count(requests, "failed"), 0, "\n{o}");
    assert_eq!(count(requests, "errored"), 0, "\n{o}");
    assert_eq!(count(requests, "timeout"), 0, "\n{o}");
    // "status codes: 20000 2xx, 0 3xx, 0 4xx, 0 5xx"
    let codes = field(o, "status codes").unwrap_or_else(|| panic!("no status codes line\n{o}"));
    assert_eq!(
        count(codes, "2xx"),
        20000,
        "every response must be 2xx\n{o}"
    );
    assert_eq!(count(codes, "4xx") + count(codes, "5xx"), 0, "\n{o}");
}

#[test]
fn wrk_short_run_without_errors() {
    let server = Server::start();
    let out = run(
        "wrk",
        &["-t1", "-c32", "-d2s", &server.url("/plaintext")],
        Duration::from_secs(30),
    );
    assert!(out.success, "wrk failed\n{}", out.describe());
    let o = &out.stdout;
    // wrk prints these lines only when there is something to count.
    assert!(!o.contains("Socket errors"), "wrk saw socket errors\n{o}");
    assert!(!o.contains("Non-2xx"), "wrk saw non-2xx responses\n{o}");
    let requests: u64 = o
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'N requests in' line\n{o}"));
    assert!(
        requests >= 1000,
        "only {requests} requests in 2 s on 32 connections\n{o}"
    );
}
