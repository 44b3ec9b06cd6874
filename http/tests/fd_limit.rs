//! The `coreline` binary and the open-file limit: it raises a low soft limit to the hard
//! one, and warns at start, naming RLIMIT_NOFILE and how to raise it, when even the hard
//! limit is low. The limits are set on the child with util-linux `prlimit`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nix::sys::resource::{getrlimit, Resource};

const BIN: &str = env!("CARGO_BIN_EXE_coreline");

/// Starts `coreline serve` under `prlimit --nofile=SOFT:HARD` and returns what it printed
/// up to and including its "serving" line.
fn start_banner(soft: u64, hard: u64) -> String {
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={soft}:{hard}"))
        .args([BIN, "serve", "--listen", "127.0.0.1:0", "--cpus", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs coreline");
    let mut banner = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("serving") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    banner
}

#[test]
fn warns_when_the_hard_fd_limit_is_low() {
    let banner = start_banner(1000, 1000);
    assert!(banner.contains("serving"), "it still serves: {banner}");
    assert!(
        banner.contains("RLIMIT_NOFILE") && banner.contains("1000") && banner.contains("ulimit"),
        "names the limit, its value and how to raise it: {banner}"
    );
}

#[test]
fn raises_a_low_soft_limit_silently() {
    // The hard limit cannot be raised here (no CAP_SYS_RESOURCE in some containers): use
    // this process's own, which the CI script has made large.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if hard < coreline_http::LOW_FD_LIMIT {
        eprintln!("skipped: this process's hard open-file limit is only {hard}");
        return;
    }
    let banner = start_banner(1000, hard);
    assert!(banner.contains("serving"), "{banner}");
    assert!(!banner.contains("RLIMIT_NOFILE"), "{banner}");
}
