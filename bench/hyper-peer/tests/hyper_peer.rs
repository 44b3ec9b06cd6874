//! Smoke test of the `hyper-peer` binary the comparison runs: routes, keep-alive and pipelining
//! over raw loopback sockets, so that the peer cannot rot between benchmark runs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The peer under test; killed and reaped on drop.
struct Peer {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Peer {
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("no free loopback port");
    let child = Command::new(env!("CARGO_BIN_EXE_hyper-peer"))
        .args([addr.to_string(), "0".to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("cannot start hyper-peer");
    let mut peer = Peer { child, addr };
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = peer.child.try_wait().expect("try_wait") {
            panic!("hyper-peer exited with {status} before accepting on {addr}");
        }
        assert!(Instant::now() < end, "hyper-peer did not accept on {addr}");
        thread::sleep(Duration::from_millis(20));
    }
    peer
}

/// Sends `request` on `stream` and reads until `responses` complete responses (each with a
/// Content-Length) have arrived; returns them as text.
fn exchange(stream: &mut TcpStream, request: &[u8], responses: usize) -> Vec<String> {
    stream.write_all(request).expect("write");
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    while out.len() < responses {
        // Parse as many complete responses as are buffered.
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().expect("content-length"))
                .unwrap_or(0);
            let total = end + 4 + len;
            if buf.len() >= total {
                out.push(String::from_utf8_lossy(&buf[..total]).into_owned());
                buf.drain(..total);
                continue;
            }
        }
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "connection closed after {} responses", out.len());
        buf.extend_from_slice(&chunk[..n]);
    }
    assert!(buf.is_empty(), "unexpected extra bytes");
    out
}

#[test]
fn routes_keep_alive_and_pipelining() {
    let peer = start();
    let mut s = TcpStream::connect(peer.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    for path in ["/plaintext", "/hello"] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = &exchange(&mut s, req.as_bytes(), 1)[0];
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        let lower = r.to_ascii_lowercase();
        assert!(lower.contains("\r\nserver: hyper\r\n"), "{r}");
        assert!(lower.contains("\r\ndate: "), "{r}");
        assert!(lower.contains("\r\ncontent-type: text/plain\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nHello, World!"), "{r}");
    }

    let r = &exchange(
        &mut s,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello\0world",
        1,
    )[0];
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.ends_with("\r\n\r\nhello\0world"), "{r}");

    let r = &exchange(
        &mut s,
        b"PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        1,
    )[0];
    assert!(r.ends_with("\r\n\r\nabcde"), "{r}");

    let r = &exchange(&mut s, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 1)[0];
    assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");

    // 16 pipelined requests in one write: 16 responses, in order, on the same connection.
    let pipelined = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n".repeat(16);
    let rs = exchange(&mut s, pipelined.as_bytes(), 16);
    assert!(rs
        .iter()
        .all(|r| r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("Hello, World!")));
}

#[test]
fn bad_arguments_exit_2() {
    for args in [&[][..], &["not-an-address"][..], &["127.0.0.1:0", "x"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_hyper-peer"))
            .args(args)
            .output()
            .expect("run hyper-peer");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: says nothing");
    }
}
