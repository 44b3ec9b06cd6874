//! Large upstream bodies spliced socket → pipe → socket: byte-exact from a coreline and a
//! Python upstream (and counted in `coreline_proxy_spliced_bytes_total`, which stays 0
//! with `--proxy-splice-min off`), an upstream that dies or stalls mid-body, and a slow
//! client of a spliced body beside others.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::served::Served;
use crate::{proxy, run, start_python};

const MIB: usize = 1 << 20;

/// A directory of random files of 1 and 10 MiB, removed on drop.
struct Files(PathBuf);

impl Files {
    fn new() -> Files {
        let dir = std::env::temp_dir().join(format!("coreline-splice-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, len) in [("one.bin", MIB), ("ten.bin", 10 * MIB)] {
            let mut data = vec![0u8; len];
            let mut x: u64 = len as u64 | 1;
            for b in data.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            std::fs::write(dir.join(name), data).unwrap();
        }
        Files(dir)
    }

    fn sha256(&self, name: &str) -> String {
        let path = self.0.join(name);
        let out = run("sha256sum", &[path.to_str().unwrap()]);
        out.split_whitespace().next().unwrap().to_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The SHA-256 of what curl gets from `url` (curl must succeed).
fn curl_sha256(url: &str) -> String {
    let out = run(
        "sh",
        &["-c", &format!("curl -sS --fail '{url}' | sha256sum")],
    );
    out.split_whitespace().next().unwrap().to_owned()
}

fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// The proxy's `coreline_proxy_spliced_bytes_total`, summed over cores.
fn spliced_bytes(admin: SocketAddr) -> u64 {
    let text = run(
        "curl",
        &["-sS", "--fail", &format!("http://{admin}/metrics")],
    );
    text.lines()
        .filter(|l| l.starts_with("coreline_proxy_spliced_bytes_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

/// The proxy in front of `upstream` with an admin listener; returns it and that address.
fn observed_proxy(upstream: &str, extra: &[&str]) -> (Served, SocketAddr) {
    let admin = free_addr();
    let admin_arg = admin.to_string();
    let mut args = vec!["--metrics", admin_arg.as_str()];
    args.extend_from_slice(extra);
    (proxy(&[format!("/={upstream}")], &args), admin)
}

#[test]
fn large_bodies_from_coreline_and_python_arrive_byte_exact_and_spliced() {
    let files = Files::new();
    let root = files.0.to_str().unwrap();
    let upstream = Served::start(&["--root", root], Stdio::null);
    let (front, admin) = observed_proxy(&upstream.url(""), &[]);
    for name in ["one.bin", "ten.bin", "one.bin"] {
        assert_eq!(
            curl_sha256(&front.url(&format!("/{name}"))),
            files.sha256(name),
            "{name} from coreline"
        );
    }
    let spliced = spliced_bytes(admin);
    // Only what the upstream connection had received before the splice began is copied.
    assert!(spliced > (12 * MIB as u64) * 9 / 10, "spliced {spliced}");

    let python = start_python();
    let py = format!("http://127.0.0.1:{}", python.port);
    let (front, admin) = observed_proxy(&py, &[]);
    for n in [MIB, 10 * MIB] {
        let got = std::process::Command::new("curl")
            .args(["-sS", "--fail", &front.url(&format!("/bytes/{n}"))])
            .output()
            .unwrap();
        assert!(got.status.success());
        let want: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        assert!(
            got.stdout == want,
            "{n} bytes from Python: got {}",
            got.stdout.len()
        );
    }
    assert!(spliced_bytes(admin) > (11 * MIB as u64) * 9 / 10);
}

#[test]
fn with_splicing_off_the_same_bodies_are_copied() {
    let python = start_python();
    let py = format!("http://127.0.0.1:{}", python.port);
    let (front, admin) = observed_proxy(&py, &["--proxy-splice-min", "off"]);
    let got = run(
        "sh",
        &[
            "-c",
            &format!("curl -sS --fail {} | wc -c", front.url("/bytes/2000000")),
        ],
    );
    assert_eq!(got.trim(), "2000000");
    assert_eq!(spliced_bytes(admin), 0);
}

/// A peer that answers each request head with `Content-Length: 4 MiB`, sends `sent`
/// bytes of it, then runs `after` (close, or stall).
fn partial_peer(sent: usize, stall: bool) -> SocketAddr {
    crate::peer(move |stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n");
        let _ = stream.write_all(&vec![b'x'; sent]);
        if stall {
            std::thread::sleep(Duration::from_secs(20));
        }
    })
}

/// GETs `path` on a new connection and reads until the proxy closes it; the body bytes
/// received and how long that took.
fn read_to_close(front: &Served, path: &str) -> (usize, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(front.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let head_end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(all.starts_with(b"HTTP/1.1 200"), "the head went out first");
    (all.len() - head_end, start.elapsed())
}

#[test]
fn an_upstream_dying_mid_body_cuts_the_response_and_others_are_served() {
    let dying = partial_peer(MIB, false);
    let python = start_python();
    let front = proxy(
        &[
            format!("/dies/=http://{dying}/"),
            format!("/py/=http://127.0.0.1:{}/", python.port),
        ],
        &["--proxy-splice-min", "0"],
    );
    let (got, took) = read_to_close(&front, "/dies/x");
    assert_eq!(got, MIB, "what the upstream sent, then the close");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let body = run(
        "sh",
        &[
            "-c",
            &format!("curl -sS --fail {} | wc -c", front.url("/py/bytes/3000000")),
        ],
    );
    assert_eq!(body.trim(), "3000000");
}

#[test]
fn an_upstream_stalling_mid_body_is_cut_after_the_proxy_timeout() {
    let stalling = partial_peer(300_000, true);
    let front = proxy(
        &[format!("/=http://{stalling}")],
        &["--proxy-timeout", "1", "--proxy-splice-min", "0"],
    );
    let (got, took) = read_to_close(&front, "/x");
    assert_eq!(got, 300_000);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

#[test]
fn a_slow_reader_of_a_spliced_body_holds_up_no_one_else() {
    let python = start_python();
    let py = format!("http://127.0.0.1:{}", python.port);
    let (front, admin) = observed_proxy(&py, &[]);
    let n = 10 * MIB;
    let mut slow = TcpStream::connect(front.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(slow, "GET /bytes/{n} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // Read a little: the rest fills the socket buffers and the pipe behind them.
    let mut first = [0u8; 4096];
    slow.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..3 {
        let start = Instant::now();
        let body = run(
            "sh",
            &[
                "-c",
                &format!("curl -sS --fail {} | wc -c", front.url("/bytes/2000000")),
            ],
        );
        assert_eq!(body.trim(), "2000000");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "served beside the slow one"
        );
    }
    // The slow client then reads the whole body, intact.
    let mut rest = Vec::new();
    let head = String::from_utf8_lossy(&first);
    let head_len = head.find("\r\n\r\n").unwrap() + 4;
    let mut body: Vec<u8> = first[head_len..].to_vec();
    while body.len() + rest.len() < n {
        let mut buf = vec![0u8; 256 * 1024];
        let k = slow.read(&mut buf).unwrap();
        assert!(k > 0, "closed after {} bytes", body.len() + rest.len());
        rest.extend_from_slice(&buf[..k]);
    }
    body.extend_from_slice(&rest);
    assert_eq!(body.len(), n);
    assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    assert!(spliced_bytes(admin) > (n as u64) * 9 / 10);
}

#[test]
fn small_bodies_that_arrived_whole_are_not_held_back() {
    // With every body spliceable, a small one is usually all received with its head: it
    // leaves with the head, with nothing left to splice behind it.
    let python = start_python();
    let py = format!("http://127.0.0.1:{}", python.port);
    let (front, _admin) = observed_proxy(&py, &["--proxy-splice-min", "0"]);
    let url = front.url("/bytes/16384");
    let mut args = vec!["-sS", "--fail", "-m", "5", "-w", "%{size_download}\\n"];
    for _ in 0..20 {
        args.extend(["-o", "/dev/null", url.as_str()]);
    }
    let out = run("curl", &args);
    assert_eq!(out.lines().count(), 20, "{out}");
    assert!(out.lines().all(|l| l == "16384"), "{out}");
}

#[test]
fn a_tls_client_gets_the_body_copied_intact() {
    let python = start_python();
    let certs = std::env::temp_dir().join(format!("coreline-splice-tls-{}", std::process::id()));
    let (cert, key) = coreline_tls::generate_self_signed(&certs, &[]).unwrap();
    let admin = free_addr();
    let rule = format!("/=http://127.0.0.1:{}", python.port);
    let front = Served::start_tls(
        &cert,
        &key,
        &["--proxy", &rule, "--metrics", &admin.to_string()],
        Stdio::null,
    );
    let n = 3 * MIB;
    let got = std::process::Command::new("curl")
        .args(["-sSk", "--fail", &front.https_url(&format!("/bytes/{n}"))])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&certs);
    assert!(got.status.success());
    let want: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    assert!(got.stdout == want, "got {} bytes", got.stdout.len());
    assert_eq!(spliced_bytes(admin), 0, "TLS cannot splice: copied");
}
