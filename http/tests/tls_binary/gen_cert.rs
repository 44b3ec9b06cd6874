//! `coreline gen-cert`: what it writes and prints, the validity it gives, and that it
//! never writes through a symlink nor over a file without `--force`.

use std::path::Path;

use crate::one_line_exit_2;
use crate::tls_bin::{coreline, s, Dir, LIMIT};
use crate::tools::run;

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
