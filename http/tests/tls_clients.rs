//! HTTPS from the `coreline` binary, checked with real clients: curl `--cacert` over TLS
//! 1.2 and 1.3 (forced) and keep-alive reuse, `openssl s_client` session resumption,
//! Python `ssl` with SNI, h2load `--h1`; byte-exact static files and ranges over TLS;
//! `coreline gen-cert`; and the one-line exit-2 errors for bad certificates and keys.
//! Every certificate is made by `coreline gen-cert` (or the same generator for SNI names).

#[path = "common/served.rs"]
mod served;
#[path = "common/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use served::Served;
use tools::{field, run, Output};

const LIMIT: Duration = Duration::from_secs(30);

/// A temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coreline-tls-bin-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Dir(dir)
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.0.join(sub)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn coreline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coreline"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run coreline")
}

/// `coreline gen-cert DIR` (DIR not existing yet): (cert, key).
fn gen_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let out = coreline(&["gen-cert", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// curl with the generated certificate as the only trust anchor.
fn curl(cert: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-sS", "-m", "20", "--cacert", s(cert)];
    all.extend_from_slice(args);
    run("curl", &all, LIMIT)
}

#[test]
fn gen_cert_writes_a_certificate_and_key_and_prints_their_paths() {
    let dir = Dir::new("gen");
    let target = dir.path("nested/certs");
    let out = coreline(&["gen-cert", s(&target)]);
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        [s(&target.join("cert.pem")), s(&target.join("key.pem"))]
    );
    let cert = std::fs::read_to_string(target.join("cert.pem")).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(target.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key is private");
    // The names it is valid for, as openssl reads them.
    let text = run(
        "openssl",
        &[
            "x509",
            "-noout",
            "-text",
            "-in",
            s(&target.join("cert.pem")),
        ],
        LIMIT,
    );
    for name in [
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
    ] {
        assert!(text.stdout.contains(name), "{name} in {}", text.stdout);
    }
    // No directory: one line, exit 2.
    let out = coreline(&["gen-cert"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .trim_end()
            .lines()
            .count(),
        1
    );
}

#[test]
fn curl_over_tls_12_and_13_forced_serves_every_route() {
    let dir = Dir::new("curl");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    for (force, version) in [
        (&["--tlsv1.2", "--tls-max", "1.2"][..], "TLSv1.2"),
        (&["--tlsv1.3"][..], "TLSv1.3"),
    ] {
        let mut args = force.to_vec();
        let url = server.https_url("/plaintext");
        args.extend(["-v", url.as_str()]);
        let out = curl(&cert, &args);
        assert!(out.success, "{}", out.describe());
        assert_eq!(out.stdout, "Hello, World!");
        assert!(
            out.stderr
                .contains(&format!("SSL connection using {version}")),
            "{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("ALPN: server accepted http/1.1"),
            "{}",
            out.stderr
        );
        // /echo and / answer as over plain HTTP.
        let echo_url = server.https_url("/echo");
        let mut args = force.to_vec();
        args.extend(["--data-binary", "ping over tls", echo_url.as_str()]);
        let out = curl(&cert, &args);
        assert_eq!(out.stdout, "ping over tls", "{}", out.describe());
        let index_url = server.https_url("/");
        let mut args = force.to_vec();
        args.extend(["-w", "%{http_code}", "-o", "/dev/null", index_url.as_str()]);
        assert_eq!(curl(&cert, &args).stdout, "200");
    }
    // The plain listener beside it serves the same.
    let out = run(
        "curl",
        &["-sS", "-m", "20", &server.url("/plaintext")],
        LIMIT,
    );
    assert_eq!(out.stdout, "Hello, World!");
}

#[test]
fn curl_reuses_one_tls_connection_for_two_requests() {
    let dir = Dir::new("reuse");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    let url = server.https_url("/plaintext");
    let out = curl(&cert, &["-v", "-w", "[%{num_connects}]", &url, &url]);
    assert!(out.success, "{}", out.describe());
    assert_eq!(out.stdout, "Hello, World![1]Hello, World![0]");
    assert!(
        out.stderr.contains("Re-using existing connection"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("SSL connection using").count(),
        1,
        "one handshake"
    );
}

/// `openssl s_client` with `args`; sends one request, keeps stdin open briefly so the
/// TLS 1.3 tickets (sent after the handshake) arrive before it exits.
fn s_client(addr: std::net::SocketAddr, args: &[&str]) -> String {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-ign_eof"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (run ci/test.sh)");
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    // The server closes after the response (Connection: close); -ign_eof keeps s_client
    // reading until then, so the session (and its ticket) is complete.
    let waited = std::thread::spawn(move || child.wait_with_output());
    std::thread::sleep(Duration::from_millis(300));
    drop(stdin);
    let out = waited.join().unwrap().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn openssl_s_client_resumes_with_sess_out_then_sess_in() {
    let dir = Dir::new("resume");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    let addr = server.tls_addr.unwrap();
    for version in ["-tls1_3", "-tls1_2"] {
        let sess = dir.path(&format!("sess{version}"));
        let first = s_client(addr, &[version, "-CAfile", s(&cert), "-sess_out", s(&sess)]);
        assert!(first.contains("\nNew, TLSv1."), "{first}");
        assert!(first.contains("Verify return code: 0 (ok)"), "{first}");
        assert!(first.contains("Hello, World!"), "{first}");
        let second = s_client(addr, &[version, "-CAfile", s(&cert), "-sess_in", s(&sess)]);
        assert!(second.contains("\nReused, TLSv1."), "{version}: {second}");
        assert!(second.contains("Hello, World!"), "{second}");
    }
}

/// For each server name, connects with Python's ssl trusting only the certificate that
/// name should get, and prints NAME CN BODY.
const PY_SNI: &str = r#"
import socket, ssl, sys
port = int(sys.argv[1])
for pair in sys.argv[2:]:
    name, cafile = pair.split("=", 1)
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = name != "unknown.test"   # the default cert does not name it
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            cn = dict(x[0] for x in tls.getpeercert()["subject"])["commonName"]
            tls.sendall(b"GET /plaintext HTTP/1.1\r\nHost: " + name.encode() + b"\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
            print(name, cn, data.split(b"\r\n\r\n", 1)[1].decode(), tls.selected_alpn_protocol())
"#;

#[test]
fn python_ssl_gets_the_certificate_of_each_server_name() {
    let dir = Dir::new("sni");
    let (cert, key) = gen_cert(&dir.path("default"));
    let (a_cert, a_key) = coreline_tls::generate_self_signed(&dir.path("a"), &["a.test"]).unwrap();
    let (b_cert, b_key) = coreline_tls::generate_self_signed(&dir.path("b"), &["b.test"]).unwrap();
    let sni_a = format!("a.test={}:{}", s(&a_cert), s(&a_key));
    let sni_b = format!("--tls-sni=b.test={}:{}", s(&b_cert), s(&b_key));
    let server = Served::start_tls(&cert, &key, &["--tls-sni", &sni_a, &sni_b], Stdio::null);
    let port = server.tls_addr.unwrap().port().to_string();
    let a = format!("a.test={}", s(&a_cert));
    let b = format!("b.test={}", s(&b_cert));
    let other = format!("unknown.test={}", s(&cert));
    let out = run("python3", &["-c", PY_SNI, &port, &a, &b, &other], LIMIT);
    assert!(out.success, "{}", out.describe());
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "a.test a.test Hello, World! None",
            "b.test b.test Hello, World! None",
            "unknown.test localhost Hello, World! None",
        ],
        "{}",
        out.describe()
    );
}

fn sha256(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

#[test]
fn static_files_over_tls_are_byte_exact_and_ranges_work() {
    let dir = Dir::new("files");
    let (cert, key) = gen_cert(&dir.path("c"));
    let root = dir.path("root");
    std::fs::create_dir_all(&root).unwrap();
    // 1 MiB (spliced over plain HTTP, read and encrypted over TLS), 100 KiB, 1 byte, 0.
    let mut files = Vec::new();
    for len in [1usize << 20, 100 * 1024, 1, 0] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(root.join(format!("f{len}.bin")), &data).unwrap();
        files.push((len, data));
    }
    let server = Served::start_tls(&cert, &key, &["--root", s(&root)], Stdio::null);
    // All downloads on one keep-alive connection, each written to its own file.
    let mut args = vec!["-w".to_string(), "%{http_code} %{num_connects}\\n".into()];
    for (len, _) in &files {
        args.push(server.https_url(&format!("/f{len}.bin")));
        args.push("-o".into());
        args.push(s(&dir.path(&format!("got{len}"))).into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = curl(&cert, &args);
    assert!(out.success, "{}", out.describe());
    assert_eq!(out.stdout, "200 1\n200 0\n200 0\n200 0\n", "one connection");
    for (len, data) in &files {
        let got = std::fs::read(dir.path(&format!("got{len}"))).unwrap();
        assert_eq!(got.len(), *len);
        assert_eq!(sha256(&got), sha256(data), "f{len}.bin byte-exact");
    }
    // Ranges: middle, suffix, past the end.
    let big = &files[0].1;
    let url = server.https_url("/f1048576.bin");
    let out = curl(
        &cert,
        &[
            "-r",
            "1000-1999",
            "-o",
            s(&dir.path("r1")),
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "206");
    assert_eq!(std::fs::read(dir.path("r1")).unwrap(), &big[1000..2000]);
    let out = curl(
        &cert,
        &[
            "-r",
            "-500",
            "-o",
            s(&dir.path("r2")),
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "206");
    assert_eq!(
        std::fs::read(dir.path("r2")).unwrap(),
        &big[big.len() - 500..]
    );
    let out = curl(
        &cert,
        &[
            "-r",
            "2000000-",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "416");
    // A large range crosses several TLS sends (read in chunks, sealed, sent).
    let out = curl(
        &cert,
        &[
            "-r",
            "5-900004",
            "-o",
            s(&dir.path("r3")),
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    assert_eq!(out.stdout, "206");
    assert_eq!(std::fs::read(dir.path("r3")).unwrap(), &big[5..900005]);
}

#[test]
fn h2load_h1_over_tls_all_2xx() {
    let dir = Dir::new("h2load");
    let (cert, key) = gen_cert(&dir.path("c"));
    let server = Served::start_tls(&cert, &key, &[] as &[&str], Stdio::null);
    let url = format!("https://{}/plaintext", server.tls_addr.unwrap());
    let out = run(
        "h2load",
        &["--h1", "-n", "2000", "-c", "8", "-m", "4", &url],
        LIMIT,
    );
    assert!(out.success, "{}", out.describe());
    assert!(
        out.stdout.contains("2000 succeeded, 0 failed, 0 errored"),
        "{}",
        out.describe()
    );
    assert!(
        field(&out.stdout, "status codes").is_some_and(|s| s.starts_with("2000 2xx")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Application protocol: http/1.1"),
        "{}",
        out.stdout
    );
}

#[test]
fn tls_listen_without_listen_serves_https_only() {
    let dir = Dir::new("only");
    let (cert, key) = gen_cert(&dir.path("c"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coreline"))
        .args(["serve", "--cpus", "0", "--tls-listen", &port.to_string()])
        .args(["--tls-cert", s(&cert), "--tls-key", s(&key)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let out = curl(
        &cert,
        &[&format!("https://127.0.0.1:{}/plaintext", port.port())],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        line.trim_end(),
        format!("coreline: serving https://{port}/ on 1 core(s) (Ctrl-C to stop)")
    );
    assert_eq!(out.stdout, "Hello, World!");
}

#[test]
fn bad_certificates_and_keys_exit_2_with_one_line_naming_the_file() {
    let dir = Dir::new("bad");
    let (cert, key) = gen_cert(&dir.path("one"));
    let (_, other_key) = gen_cert(&dir.path("two"));
    let empty = dir.path("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let missing = dir.path("missing.pem");
    let listen = ["serve", "--cpus", "0", "--tls-listen", "127.0.0.1:0"];
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        (
            vec!["--tls-cert", s(&missing), "--tls-key", s(&key)],
            &missing,
            "No such file",
        ),
        (
            vec!["--tls-cert", s(&cert), "--tls-key", s(&missing)],
            &missing,
            "No such file",
        ),
        (
            vec!["--tls-cert", s(&cert), "--tls-key", s(&other_key)],
            &other_key,
            "does not match",
        ),
        (
            vec!["--tls-cert", s(&empty), "--tls-key", s(&key)],
            &empty,
            "empty certificate chain",
        ),
        (
            vec!["--tls-cert", s(&cert), "--tls-key", s(&empty)],
            &empty,
            "no private key",
        ),
    ];
    for (flags, file, why) in cases {
        let mut args = listen.to_vec();
        args.extend(&flags);
        let out = coreline(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(s(file)), "names {file:?}: {err}");
        assert!(
            err.to_lowercase().contains(&why.to_lowercase()),
            "says {why:?}: {err}"
        );
    }
    // A bad --tls-sni pair is checked the same way.
    let sni = format!("a.test={}:{}", s(&cert), s(&other_key));
    let mut args = listen.to_vec();
    args.extend([
        "--tls-cert",
        s(&cert),
        "--tls-key",
        s(&key),
        "--tls-sni",
        &sni,
    ]);
    let out = coreline(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(s(&other_key)));
}
