//! The `coreline` binary's TLS side: `gen-cert`, static files and ranges over HTTPS
//! (read and encrypted, not spliced), `--tls-listen` alone serving HTTPS only, certificates
//! reloaded on SIGHUP, and the one-line exit-2 errors for bad certificates and keys.
//!
//! `gen_cert`: the certificate command. `serving`: files, ranges and `--tls-listen`.
//! `reload`: SIGHUP. This file: bad certificates and keys.

mod gen_cert;
mod reload;
#[path = "../common/served.rs"]
mod served;
mod serving;
#[path = "../common/tls_bin.rs"]
mod tls_bin;
#[path = "../common/tools.rs"]
mod tools;

use std::path::Path;

use tls_bin::{coreline, gen_cert, s, Dir};

/// Asserts that `out` exited 2 with one line of stderr that contains `says`.
fn one_line_exit_2(out: &std::process::Output, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(says), "{says} in {err}");
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
