//! Graceful shutdown and zero-downtime restart under load, through
//! `bench/scripts/restart.sh` in a private network namespace (root only; elsewhere the
//! test says it skipped). The script checks that the new process served requests after the
//! old one stopped accepting, exited 0 itself, and that refused connects stay within its
//! bound; a run with the new process left out (`--skip-new`) must fail those checks. Uses
//! the release `coreline` beside this test's `coreline-load` (built by `cargo test
//! --workspace --release`, or `cargo build --release -p coreline-http --bin coreline`).

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
        let served = served_by_new_process(&out);
        assert!(served > 0, "{out}");
        assert!(out.contains("; it exited 0"), "{out}");
    }
}

/// The proof that the checks above need a restart: the same run without the new process
/// fails, because nobody serves after the old process, reconnects are refused, and there
/// is no new process to exit 0.
#[test]
fn restart_without_a_new_process_fails() {
    if let Some((ok, out)) = run(&["--skip-new"]) {
        assert!(!ok && out.contains("FAIL"), "{out}");
        assert!(!out.contains("PASS"), "{out}");
        assert_eq!(served_by_new_process(&out), 0, "{out}");
        assert!(
            out.contains("the new process served no request after the old one stopped accepting"),
            "{out}"
        );
        assert!(out.contains("connects refused (at most"), "{out}");
        assert!(out.contains("the new process exited none"), "{out}");
    }
}

/// The count in the script's "the new process served N requests after the old one
/// stopped accepting" line.
fn served_by_new_process(out: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.contains("the new process served "))
        .unwrap_or_else(|| panic!("no count of the new process's requests:\n{out}"));
    let after = line.split("the new process served ").nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn graceful_shutdown_under_load_fails_no_accepted_request() {
    if let Some((ok, out)) = run(&["--alone"]) {
        assert!(ok && out.contains("PASS"), "{out}");
    }
}
