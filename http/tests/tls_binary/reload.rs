//! SIGHUP reads the certificate files again: new handshakes get the new certificate; a
//! file that no longer loads keeps the previous one, with a line on stderr saying why.

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
