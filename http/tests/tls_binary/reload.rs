//! SIGHUP reads the certificate files again (or, with `--config`, the files the file names
//! now): new handshakes get the new certificate; a file that no longer loads keeps the
//! previous one, with a line on stderr saying why.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::served::Served;
use crate::tls_bin::{curl, gen_cert, s, Dir};

fn sighup(server: &Served) {
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGHUP).unwrap();
}

/// Whether a fresh handshake verifies against `ca` (the server's certificate is `ca`).
fn trusted_by(ca: &std::path::Path, server: &Served) -> bool {
    curl(ca, &[&server.https_url("/plaintext")]).success
}

/// Polls until the served certificate is the one `ca` names (the signal thread runs the
/// reload some time after the signal).
fn eventually_trusted_by(ca: &std::path::Path, server: &Served) -> bool {
    for _ in 0..50 {
        if trusted_by(ca, server) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn sighup_reloads_the_certificate_and_keeps_it_when_the_new_files_are_bad() {
    let dir = Dir::new("reload");
    let (old_cert, old_key) = gen_cert(&dir.path("old"));
    let (new_cert, new_key) = gen_cert(&dir.path("new"));
    // The server reads this pair, replaced below as an operator renewing it would.
    let (cert, key) = (dir.path("cert.pem"), dir.path("key.pem"));
    std::fs::copy(&old_cert, &cert).unwrap();
    std::fs::copy(&old_key, &key).unwrap();
    let mut server = Served::start_tls::<&str>(&cert, &key, &[], Stdio::piped);
    assert!(trusted_by(&old_cert, &server));
    assert!(!trusted_by(&new_cert, &server), "distinct certificates");

    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    sighup(&server);
    assert!(
        eventually_trusted_by(&new_cert, &server),
        "SIGHUP did not load the new certificate"
    );
    assert!(!trusted_by(&old_cert, &server));

    // A key that does not match: the renewed certificate stays.
    std::fs::copy(&old_key, &key).unwrap();
    sighup(&server);
    std::thread::sleep(Duration::from_millis(300));
    assert!(trusted_by(&new_cert, &server), "a bad reload replaced it");
    assert!(server.child.try_wait().unwrap().is_none(), "still serving");

    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(server.child.wait().unwrap().success());
    let mut stderr = String::new();
    let mut pipe = server.child.stderr.take().unwrap();
    pipe.read_to_string(&mut stderr).unwrap();
    assert!(
        stderr.contains("certificates reloaded"),
        "the good reload is reported: {stderr}"
    );
    let refused = stderr
        .lines()
        .find(|l| l.contains("certificates not reloaded"))
        .unwrap_or_else(|| panic!("the bad reload is reported: {stderr}"));
    assert!(refused.contains(s(&key)), "it names the file: {refused}");
}

#[test]
fn sighup_serves_the_certificate_files_a_new_config_file_names() {
    let dir = Dir::new("reload-config");
    let (old_cert, old_key) = gen_cert(&dir.path("old"));
    let (new_cert, new_key) = gen_cert(&dir.path("new"));
    let tls_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let config = dir.path("coreline.toml");
    let write_config = |cert: &std::path::Path, key: &std::path::Path| {
        let text = format!(
            "tls-listen = [\"{tls_addr}\"]\ntls-cert = \"{}\"\ntls-key = \"{}\"\n",
            s(cert),
            s(key)
        );
        std::fs::write(&config, text).unwrap();
    };
    write_config(&old_cert, &old_key);
    let mut server = Served::start(&["--config", s(&config)], Stdio::piped);
    server.tls_addr = Some(tls_addr);
    assert!(trusted_by(&old_cert, &server));

    write_config(&new_cert, &new_key);
    sighup(&server);
    assert!(
        eventually_trusted_by(&new_cert, &server),
        "SIGHUP did not load the files the config file names now"
    );

    // Files that do not exist: the ones loaded stay.
    let missing = dir.path("missing.pem");
    write_config(&missing, &new_key);
    sighup(&server);
    std::thread::sleep(Duration::from_millis(300));
    assert!(trusted_by(&new_cert, &server), "a bad reload replaced it");

    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(server.child.wait().unwrap().success());
    let mut stderr = String::new();
    let mut pipe = server.child.stderr.take().unwrap();
    pipe.read_to_string(&mut stderr).unwrap();
    let refused = stderr
        .lines()
        .find(|l| l.contains("certificates not reloaded"))
        .unwrap_or_else(|| panic!("the bad reload is reported: {stderr}"));
    assert!(
        refused.contains(s(&missing)),
        "it names the file: {refused}"
    );
}
