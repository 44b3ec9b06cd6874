//! Static files through the `coreline` binary, checked with real curl over loopback:
//! byte-exact downloads (sha256), concurrency, ranges, conditional requests, HEAD,
//! traversal attempts, FIFOs and files that shrink while being sent.

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

#[test]
fn downloads_are_byte_exact_over_one_keep_alive_connection() {
    let s = serve("exact");
    let out = s.root.parent().unwrap().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let names = [
        "f0.bin",
        "f1.bin",
        "f4095.bin",
        "f4096.bin",
        "f65536.bin",
        "f1048576.bin",
        "sparse.bin",
    ];
    let mut args = vec![
        "-w".to_string(),
        "%{http_code} %{num_connects}\n".to_string(),
    ];
    for n in names {
        args.push("-o".into());
        args.push(out.join(n).display().to_string());
        args.push(s.url(&format!("/{n}")));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = curl(&args);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), names.len(), "{report}");
    assert!(lines.iter().all(|l| l.starts_with("200 ")), "{report}");
    let connects: u32 = lines.iter().map(|l| l[4..].parse::<u32>().unwrap()).sum();
    assert_eq!(
        connects, 1,
        "all downloads on one keep-alive connection: {report}"
    );
    for n in names {
        assert_eq!(sha256(&out.join(n)), sha256(&s.root.join(n)), "{n}");
    }
}

#[test]
fn two_hundred_concurrent_downloads_are_byte_exact() {
    let s = serve("concurrent");
    let want = sha256(&s.root.join("f10485760.bin"));
    let url = s.url("/f10485760.bin");
    let workers: Vec<_> = (0..200)
        .map(|_| {
            let cmd = format!("curl -s -m 120 '{url}' | sha256sum");
            std::thread::spawn(move || {
                let out = Command::new("sh").args(["-c", &cmd]).output().unwrap();
                String::from_utf8_lossy(&out.stdout)[..64].to_string()
            })
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().unwrap(), want);
    }
}

#[test]
fn ranges() {
    let s = serve("ranges");
    let url = s.url("/f65536.bin");
    let data = std::fs::read(s.root.join("f65536.bin")).unwrap();
    let fetch = |r: &str| {
        let out = Command::new("curl")
            .args(["-s", "-m", "10", "-D", "-", "-r", r, &url])
            .output()
            .unwrap()
            .stdout;
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        (
            String::from_utf8_lossy(&out[..split]).to_lowercase(),
            out[split..].to_vec(),
        )
    };
    let (head, body) = fetch("0-99");
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert!(head.contains("content-range: bytes 0-99/65536"), "{head}");
    assert_eq!(body, &data[..100]);
    let (head, body) = fetch("1000-30000");
    assert!(
        head.contains("content-range: bytes 1000-30000/65536"),
        "{head}"
    );
    assert_eq!(body, &data[1000..=30000]);
    let (head, body) = fetch("-500");
    assert!(
        head.contains("content-range: bytes 65036-65535/65536"),
        "{head}"
    );
    assert_eq!(body, &data[65036..]);
    let (head, _) = fetch("70000-");
    assert!(head.starts_with("http/1.1 416"), "{head}");
    assert!(head.contains("content-range: bytes */65536"), "{head}");
    // Several ranges: the whole file with 200 (documented choice).
    let (head, body) = fetch("0-1,5-6");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, data);
    // A large range is spliced from the middle of a file.
    let big = std::fs::read(s.root.join("f10485760.bin")).unwrap();
    let out = Command::new("curl")
        .args(["-s", "-r", "12345-5000000", &s.url("/f10485760.bin")])
        .output()
        .unwrap();
    assert_eq!(out.stdout, &big[12345..=5_000_000]);
}

#[test]
fn conditional_requests_and_head() {
    let s = serve("cond");
    let url = s.url("/f4096.bin");
    let original = curl(&["-I", &url]);
    let head = original.to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-length: 4096"), "{head}");
    assert!(head.contains("accept-ranges: bytes"), "{head}");
    let field = |name: &str| {
        original
            .lines()
            .find(|l| l.to_lowercase().starts_with(name))
            .map(|l| &l[name.len()..])
            .unwrap()
            .trim()
            .to_string()
    };
    let etag = field("etag:");
    let modified = field("last-modified:");
    assert!(
        etag.starts_with('"') && !etag.starts_with("w/"),
        "strong: {etag}"
    );
    let code = |extra: &[&str]| {
        let mut args = vec!["-o", "/dev/null", "-w", "%{http_code} %{size_download}"];
        args.extend_from_slice(extra);
        args.push(&url);
        curl(&args)
    };
    assert_eq!(code(&["-H", &format!("If-None-Match: {etag}")]), "304 0");
    assert_eq!(
        code(&["-H", &format!("If-None-Match: \"x\", W/{etag}")]),
        "304 0"
    );
    assert_eq!(code(&["-H", "If-None-Match: \"other\""]), "200 4096");
    assert_eq!(
        code(&["-H", &format!("If-Modified-Since: {modified}")]),
        "304 0"
    );
    assert_eq!(
        code(&["-H", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"]),
        "200 4096"
    );
    let ir = format!("If-Range: {etag}");
    assert_eq!(code(&["-r", "0-9", "-H", &ir]), "206 10");
    assert_eq!(
        code(&["-r", "0-9", "-H", "If-Range: \"stale\""]),
        "200 4096"
    );
    // HEAD of a large file: the length and no body.
    let sparse = curl(&["-I", "-w", "%{size_download}", &s.url("/sparse.bin")]).to_lowercase();
    assert!(sparse.contains("content-length: 104857600"), "{sparse}");
    assert!(sparse.ends_with("\r\n0"), "{sparse}");
    let dir = curl(&["-w", " %{http_code}", &s.url("/dir/")]);
    assert_eq!(dir, "<p>index</p> 200");
    let dir = curl(&["-w", " %{http_code}", &s.url("/dir")]);
    assert_eq!(dir, "<p>index</p> 200");
    assert!(curl(&["-w", "%{http_code}", &s.url("/empty-dir/")]).ends_with("404"));
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

#[test]
fn traversal_attempts_are_refused() {
    let s = serve("traversal");
    let via_curl = [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/etc/passwd",
        "/..%2fsecret.txt",
        "/dir/..%2f..%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/..%5csecret.txt",
        "/dir%5c..%5c..%5csecret.txt",
        "//etc/passwd",
        "/%2fetc/passwd",
        "/escape",
        "/up/secret.txt",
        "/up/up/etc/passwd",
        "/dir/../../secret.txt",
        "/f1.bin%00.html",
        "/%00",
        "/fifo",
    ];
    for path in via_curl {
        let out = curl(&["--path-as-is", "-w", "\n%{http_code}", &s.url(path)]);
        let code = out.rsplit('\n').next().unwrap();
        assert!(code == "400" || code == "404", "{path}: {out}");
        assert!(
            !out.contains(SECRET) && !out.contains("root:"),
            "{path}: {out}"
        );
    }
    let raws: [&[u8]; 5] = [
        b"GET /..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET \\..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET http://x/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /f1.bin\0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for r in raws {
        let (out, _) = raw(s.served.addr, r);
        let code = out.get(9..12).unwrap_or("");
        assert!(
            code.starts_with('4'),
            "{:?}: {out}",
            String::from_utf8_lossy(r)
        );
        assert!(!out.contains(SECRET) && !out.contains("root:"), "{out}");
    }
}

#[test]
fn dotfiles_are_not_served_except_well_known() {
    let s = serve("dotfiles");
    std::fs::create_dir_all(s.root.join(".git")).unwrap();
    std::fs::create_dir_all(s.root.join(".well-known/acme-challenge")).unwrap();
    std::fs::write(s.root.join(".git/config"), SECRET).unwrap();
    std::fs::write(s.root.join(".env"), SECRET).unwrap();
    std::fs::write(s.root.join("dir/.htpasswd"), SECRET).unwrap();
    std::fs::write(s.root.join(".well-known/.hidden"), SECRET).unwrap();
    std::fs::write(s.root.join(".well-known/acme-challenge/token"), "proof").unwrap();
    for path in [
        "/.git/config",
        "/.git/",
        "/.env",
        "/%2eenv",
        "/dir/.htpasswd",
        "/.well-known/.hidden",
    ] {
        let out = curl(&["--path-as-is", "-w", "\n%{http_code}", &s.url(path)]);
        assert!(
            out.ends_with("\n404") && !out.contains(SECRET),
            "{path}: {out}"
        );
    }
    let token = curl(&[
        "-w",
        " %{http_code}",
        &s.url("/.well-known/acme-challenge/token"),
    ]);
    assert_eq!(token, "proof 200");
}

#[test]
fn fifo_does_not_hang_a_worker() {
    let s = serve("fifo");
    let (out, took) = raw(
        s.served.addr,
        b"GET /fifo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(curl(&["-w", "%{http_code}", "-o", "/dev/null", &s.url("/f1.bin")]) == "200");
}

/// A request for a FIFO must not open it for reading: that would release a writer
/// blocked in `open(O_WRONLY)` (and let it write into whatever reads the FIFO next).
#[test]
fn a_fifo_writer_stays_blocked_while_the_fifo_is_requested() {
    let s = serve("fifo-writer");
    let fifo = s.root.join("fifo");
    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let opened = std::fs::OpenOptions::new().write(true).open(&writer_path);
        let _ = opened_tx.send(opened.is_ok());
    });
    std::thread::sleep(Duration::from_millis(100)); // the writer is in open(2) by now
    for path in ["/fifo", "/fifo"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (out, _) = raw(s.served.addr, request.as_bytes());
        assert!(
            out.starts_with("HTTP/1.1 404") || out.starts_with("HTTP/1.1 400"),
            "{out}"
        );
    }
    let released = opened_rx.recv_timeout(Duration::from_millis(300));
    // Release the writer (a reader of our own) before asserting, so the thread ends.
    let reader = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    writer.join().unwrap();
    let _ = nix::unistd::close(reader);
    assert!(
        released.is_err(),
        "the server opened the FIFO: its writer's open returned"
    );
}

#[test]
fn a_file_that_shrinks_mid_send_closes_the_connection() {
    let s = serve("shrink");
    let path = s.root.join("shrinking.bin");
    let len = 64u64 << 20;
    std::fs::write(&path, vec![b'x'; len as usize]).unwrap();
    let mut c = TcpStream::connect(s.served.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = c.read(&mut buf).unwrap() as u64;
    // The server is now blocked on the full socket; cut the file short under it.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e) => panic!("connection not closed: {e}"),
        }
    }
    assert!(got < len, "fewer bytes than announced, then EOF ({got})");
}

#[test]
fn a_file_not_in_the_page_cache_arrives_intact() {
    // Evicted pages make `cachestat` say no: those chunks are spliced through the ring
    // (an io-wq thread waits for the disk), the rest directly. A tmpfs file is always in
    // memory, so the file goes under the target directory, on a disk.
    let parent = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let fs = nix::sys::statfs::statfs(parent).unwrap();
    if fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC {
        eprintln!(
            "skipped: {} is on tmpfs, its pages cannot be evicted",
            parent.display()
        );
        return;
    }
    let s = serve_under(parent, "cold");
    let path = s.root.join("cold.bin");
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i * 13 % 253) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    for range in [None, Some("1000000-2999999")] {
        assert_eq!(evict(&path), 0, "the file is still in the page cache");
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-m", "30"]);
        if let Some(r) = range {
            cmd.args(["-r", r]);
        }
        let got = cmd.arg(s.url("/cold.bin")).output().unwrap().stdout;
        let want = match range {
            None => &data[..],
            Some(_) => &data[1_000_000..3_000_000],
        };
        assert!(got == want, "{range:?}: {} bytes", got.len());
    }
}

/// Drops `path` from the page cache and returns the bytes still there (0 when it left).
/// Pages still referenced elsewhere (a previous response's splice still in a socket
/// buffer, writeback) stay until released, so it asks again for a while.
fn evict(path: &std::path::Path) -> u64 {
    let f = std::fs::File::open(path).unwrap();
    f.sync_all().unwrap();
    let mut resident = u64::MAX;
    for _ in 0..100 {
        nix::fcntl::posix_fadvise(
            std::os::fd::AsRawFd::as_raw_fd(&f),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        )
        .unwrap();
        resident = resident_bytes(path);
        if resident == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    resident
}

/// Bytes of `path` in the page cache, as `fincore` (util-linux, through mincore) reports.
fn resident_bytes(path: &std::path::Path) -> u64 {
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--raw", "--output", "RES"])
        .arg(path)
        .output()
        .expect("fincore (util-linux)");
    assert!(out.status.success(), "fincore: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("fincore said {text:?}"))
}
