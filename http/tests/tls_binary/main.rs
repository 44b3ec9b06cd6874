//! The `coreline` binary's TLS side: `gen-cert`, static files and ranges over HTTPS
//! (read and encrypted, not spliced), `--tls-listen` alone serving HTTPS only, and the
//! one-line exit-2 errors for bad certificates and keys.

#[path = "common/served.rs"]
mod served;
#[path = "common/tls_bin.rs"]
mod tls_bin;
#[path = "common/tools.rs"]
mod tools;

use std::path::Path;
use std::process::{Command, Stdio};

use served::Served;
use tls_bin::{coreline, curl, gen_cert, s, Dir, LIMIT};
use tools::run;

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

/// Seconds since the epoch of an openssl date (`Jan  2 03:04:05 2026 GMT`), via GNU date.
fn epoch_of(openssl_date: &str) -> i64 {
    let out = run("date", &["-u", "-d", openssl_date, "+%s"], LIMIT);
    assert!(out.success, "date -d {openssl_date}: {}", out.stderr);
    out.stdout.trim().parse().unwrap()
}

/// The certificate's validity as (notBefore, notAfter) in seconds since the epoch.
fn validity(cert: &Path) -> (i64, i64) {
    let out = run(
        "openssl",
        &["x509", "-noout", "-dates", "-in", s(cert)],
        LIMIT,
    );
    assert!(out.success, "{}", out.stderr);
    let field = |name: &str| {
        let line = out.stdout.lines().find_map(|l| l.strip_prefix(name));
        epoch_of(line.unwrap_or_else(|| panic!("{name} in {}", out.stdout)))
    };
    (field("notBefore="), field("notAfter="))
}

fn one_line_exit_2(out: &std::process::Output, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(says), "{says} in {err}");
}

#[test]
fn gen_cert_is_valid_from_now_for_the_days_asked() {
    let dir = Dir::new("days");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let default = dir.path("default");
    assert!(coreline(&["gen-cert", s(&default)]).status.success());
    let (from, until) = validity(&default.join("cert.pem"));
    assert!((from - now).abs() < 120, "notBefore {from}, now {now}");
    assert_eq!(until - from, 90 * 86_400);
    let week = dir.path("week");
    assert!(coreline(&["gen-cert", s(&week), "--days", "7"])
        .status
        .success());
    let (from, until) = validity(&week.join("cert.pem"));
    assert_eq!(until - from, 7 * 86_400);
    let most = dir.path("most");
    assert!(coreline(&["gen-cert", "--days=398", s(&most)])
        .status
        .success());
    let (from, until) = validity(&most.join("cert.pem"));
    assert_eq!(until - from, 398 * 86_400);
    for bad in ["0", "399", "-5", "ninety", "100000000000"] {
        let out = coreline(&["gen-cert", s(&dir.path("bad")), "--days", bad]);
        one_line_exit_2(&out, "--days");
    }
    assert!(
        !dir.path("bad").exists(),
        "nothing written for a bad --days"
    );
}

#[test]
fn gen_cert_never_follows_a_symlink_and_overwrites_only_with_force() {
    let dir = Dir::new("links");
    let certs = dir.path("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let victim = dir.path("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, certs.join("key.pem")).unwrap();
    // Without --force: refused, nothing written, the link's target untouched.
    let out = coreline(&["gen-cert", s(&certs)]);
    one_line_exit_2(&out, "--force");
    assert!(!certs.join("cert.pem").exists());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // With --force: the link itself is replaced by a new private file.
    let out = coreline(&["gen-cert", "--force", s(&certs)]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let key = std::fs::symlink_metadata(certs.join("key.pem")).unwrap();
    assert!(key.file_type().is_file(), "key.pem is a file, not a link");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(certs.join("key.pem"))
        .unwrap()
        .contains("PRIVATE KEY"));
    // Existing regular files: kept without --force, replaced with it.
    let before = std::fs::read(certs.join("cert.pem")).unwrap();
    one_line_exit_2(&coreline(&["gen-cert", s(&certs)]), "already exists");
    assert_eq!(std::fs::read(certs.join("cert.pem")).unwrap(), before);
    assert!(coreline(&["gen-cert", s(&certs), "--force"])
        .status
        .success());
    assert_ne!(std::fs::read(certs.join("cert.pem")).unwrap(), before);
    // A dangling link counts as existing too, and is never created through.
    let dangling = dir.path("dangling");
    std::fs::create_dir_all(&dangling).unwrap();
    let nowhere = dir.path("created-through-the-link");
    std::os::unix::fs::symlink(&nowhere, dangling.join("cert.pem")).unwrap();
    one_line_exit_2(&coreline(&["gen-cert", s(&dangling)]), "already exists");
    assert!(coreline(&["gen-cert", "--force", s(&dangling)])
        .status
        .success());
    assert!(!nowhere.exists());
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
