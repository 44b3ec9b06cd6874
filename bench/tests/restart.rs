//! Graceful shutdown and zero-downtime restart under load, through
//! `bench/scripts/restart.sh` in a private network namespace (root only; elsewhere the
//! test says it skipped). Uses the release `coreline` beside this test's `coreline-load`
//! (built by `cargo test --workspace --release`, or `cargo build --release -p coreline-http
//! --bin coreline`).

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> Option<(bool, String)> {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: needs root for a private network namespace");
        return None;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_coreline-load"))
        .parent()
        .unwrap();
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release");
    assert!(
        bin_dir.join("coreline").exists() && bin_dir == release.canonicalize().unwrap(),
        "build the release binaries first: cargo build --release -p coreline-http --bin coreline"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/restart.sh");
    let out = Command::new("unshare")
        .args(["-n", "bash"])
        .arg(script)
        .args(args)
        .output()
        .expect("unshare (util-linux)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    Some((out.status.success(), text))
}

#[test]
fn restart_on_the_same_port_loses_no_request() {
    if let Some((ok, out)) = run(&[]) {
        assert!(ok && out.contains("PASS"), "{out}");
        assert!(
            out.contains("close:") && out.contains("keep-alive:"),
            "{out}"
        );
    }
}

#[test]
fn graceful_shutdown_under_load_fails_no_accepted_request() {
    if let Some((ok, out)) = run(&["--alone"]) {
        assert!(ok && out.contains("PASS"), "{out}");
    }
}
