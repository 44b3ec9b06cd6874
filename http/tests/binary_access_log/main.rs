//! The access log through the `coreline` binary: nginx's combined format field by field
//! for GET, HEAD, POST, file, 404 and 400 responses; JSON lines that parse; one whole line
//! per request from many concurrent keep-alive clients on two cores; logrotate's
//! move-then-SIGHUP; `-` for standard output; off by default; a bad path.

#[path = "../common/mod.rs"]
mod common;
mod concurrent;
mod support;

use std::io::Read;
use std::process::Command;

use common::{Client, Resp};
use regex::Regex;
use support::{lines, temp_dir, wait_lines, Server};

/// The common tests' client speaks plain HTTP here.
pub const OVER_TLS: bool = false;

/// nginx's combined format: `$remote_addr - $remote_user [$time_local] "$request" $status
/// $body_bytes_sent "$http_referer" "$http_user_agent"`.
pub const COMBINED: &str = r#"^(\S+) - - \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "((?:[^"\\]|\\x[0-9A-F]{2})*)" (\d{3}) (\d+) "((?:[^"\\]|\\x[0-9A-F]{2})*)" "((?:[^"\\]|\\x[0-9A-F]{2})*)"$"#;

/// The requests of the format tests, each with the response it got.
fn exchange(c: &mut Client, raw: &str) -> Resp {
    c.send(raw.as_bytes());
    c.response(raw.starts_with("HEAD "))
}

fn site(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join("root")).unwrap();
    std::fs::write(dir.join("root/a.txt"), "file a\n").unwrap();
    std::fs::write(dir.join("root/big.bin"), vec![7u8; 100_000]).unwrap();
    dir
}

/// Sends the format tests' requests; returns the responses in order.
fn traffic(addr: std::net::SocketAddr) -> Vec<Resp> {
    let mut c = Client::connect(addr);
    let mut got = vec![
        exchange(
            &mut c,
            "GET /plaintext?q=1 HTTP/1.1\r\nHost: x\r\nReferer: http://r/\"x\"\r\n\
             User-Agent: test/1.0 \u{e9}\r\n\r\n",
        ),
        exchange(&mut c, "HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"),
        exchange(
            &mut c,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
        ),
        exchange(&mut c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"),
        exchange(&mut c, "GET /big.bin HTTP/1.0\r\n\r\n"),
    ];
    let mut c = Client::connect(addr);
    got.push(exchange(&mut c, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"));
    got.push(exchange(&mut c, "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n"));
    got
}

#[test]
fn combined_lines_are_nginx_format() {
    let dir = site("combined");
    let log = dir.join("access.log");
    let root = dir.join("root");
    let mut server = Server::start(
        &[
            "--root",
            root.to_str().unwrap(),
            "--access-log",
            log.to_str().unwrap(),
        ],
        false,
        &dir,
    );
    assert!(server.has_log_writer());
    let responses = traffic(server.addr);
    let got = wait_lines(&log, responses.len());
    server.stop();
    let re = Regex::new(COMBINED).unwrap();
    let expected = [
        (
            "GET /plaintext?q=1 HTTP/1.1",
            200,
            "http://r/\\x22x\\x22",
            "test/1.0 \\xC3\\xA9",
        ),
        ("HEAD /plaintext HTTP/1.1", 200, "-", "-"),
        ("POST /echo HTTP/1.1", 200, "-", "-"),
        ("GET /a.txt HTTP/1.1", 200, "-", "-"),
        ("GET /big.bin HTTP/1.0", 200, "-", "-"),
        ("GET /missing HTTP/1.1", 404, "-", "-"),
        ("GET /\\x01 HTTP/1.1", 400, "-", "-"),
    ];
    for ((line, (request, status, referer, agent)), res) in got.iter().zip(expected).zip(&responses)
    {
        let f = re
            .captures(line)
            .unwrap_or_else(|| panic!("not combined: {line}"));
        assert_eq!(&f[1], "127.0.0.1", "{line}");
        assert_eq!(&f[3], request, "{line}");
        assert_eq!(f[4].parse::<u16>().unwrap(), status, "{line}");
        assert_eq!(res.status, status);
        assert_eq!(f[5].parse::<usize>().unwrap(), res.body.len(), "{line}");
        assert_eq!((&f[6], &f[7]), (referer, agent), "{line}");
    }
    // The file's bytes and the HEAD's none, as sent.
    assert_eq!(responses[4].body.len(), 100_000);
    assert_eq!(responses[1].body.len(), 0);
}

#[test]
fn json_lines_parse() {
    let dir = site("json");
    let log = dir.join("access.json");
    let root = dir.join("root");
    let args = [
        "--root",
        root.to_str().unwrap(),
        "--access-log",
        log.to_str().unwrap(),
    ];
    let mut server = Server::start(
        &[&args[..], &["--access-log-format", "json"]].concat(),
        false,
        &dir,
    );
    let responses = traffic(server.addr);
    let got = wait_lines(&log, responses.len());
    server.stop();
    for (line, res) in got.iter().zip(&responses) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["remote_addr"], "127.0.0.1");
        assert_eq!(v["status"], res.status);
        assert_eq!(v["body_bytes_sent"], res.body.len());
        assert!(v["duration_us"].is_u64(), "{line}");
        assert!(v["time"].as_str().unwrap().ends_with("+00:00"), "{line}");
    }
    let first = serde_json::from_str::<serde_json::Value>(&got[0]).unwrap();
    assert_eq!(first["request"], "GET /plaintext?q=1 HTTP/1.1");
    assert_eq!(
        (&first["method"], &first["target"], &first["version"]),
        (&"GET".into(), &"/plaintext?q=1".into(), &"HTTP/1.1".into())
    );
    assert_eq!(first["referer"], "http://r/\"x\"");
    assert_eq!(first["user_agent"], "test/1.0 \u{e9}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got[1]).unwrap()["referer"],
        serde_json::Value::Null
    );
    let bad = serde_json::from_str::<serde_json::Value>(&got[6]).unwrap();
    assert_eq!(
        (&bad["request"], &bad["method"]),
        (&"GET /\u{1} HTTP/1.1".into(), &serde_json::Value::Null)
    );
}

#[test]
fn dash_writes_to_standard_output() {
    let dir = temp_dir("stdout");
    let mut server = Server::start(&["--access-log", "-"], true, &dir);
    for _ in 0..3 {
        common::one(server.addr, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    let mut out = server.child.stdout.take().unwrap();
    server.stop();
    let mut text = String::new();
    out.read_to_string(&mut text).unwrap();
    let re = Regex::new(COMBINED).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .all(|l| re.is_match(l) && l.contains("\"GET /plaintext HTTP/1.1\" 200 13 ")),
        "{text}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no file named -"
    );
}

#[test]
fn off_by_default() {
    let dir = temp_dir("off");
    let mut server = Server::start(&[], true, &dir);
    common::one(server.addr, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        !server.has_log_writer(),
        "no writer thread without --access-log"
    );
    let mut out = server.child.stdout.take().unwrap();
    server.stop();
    let mut text = String::new();
    out.read_to_string(&mut text).unwrap();
    assert_eq!(text, "", "nothing on standard output");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no file");
}

#[test]
fn a_bad_path_is_one_line_and_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_coreline"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--access-log",
            "/nonexistent/dir/a.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--access-log /nonexistent/dir/a.log"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_coreline"))
        .args(["serve", "--access-log", "-", "--access-log-format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(lines(std::path::Path::new("/nonexistent/dir/a.log")).is_empty());
}
