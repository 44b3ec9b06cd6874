//! Real clients against the `coreline` binary: curl (keep-alive, `Expect: 100-continue`), Python's `http.client`, ApacheBench
//! (`ab -k`), h2load (`--h1`, pipelined) and wrk. Each test starts its own
//! `coreline serve --listen 127.0.0.1:PORT --cpus 0` on a free port, waits until it accepts,
//! runs one tool and asserts on the tool's own output; the server is killed when the test ends.
//!
//! A missing tool fails the test with a message saying to run `ci/test.sh`, which installs
//! them (curl, python3, apache2-utils, nghttp2-client, wrk).
//!
//! `expect_continue`: curl uploads with `Expect: 100-continue`. `load_tools`: ab, h2load
//! and wrk. This file: keep-alive with curl and Python's `http.client`.

mod expect_continue;
mod load_tools;
#[path = "../common/served.rs"]
mod served;
#[path = "../common/tools.rs"]
mod tools;

use std::process::Stdio;

use served::Served;
use std::time::Duration;
use tools::run;

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

/// Python's standard client: two GETs on one `HTTPConnection` (keep-alive), then a chunked
/// upload to /echo on the same connection, which must come back byte for byte.
const PYTHON_CLIENT: &str = include_str!("../scripts/python_client.py");

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
