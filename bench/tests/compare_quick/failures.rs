//! Comparisons that cannot run or whose load runs fail: a one-line reason and exit 2 for
//! what to fix first, the failed runs in the report and exit 1.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::{free_port_base, one_at_a_time};

/// Runs coreline-bench with `args` (and `PATH`, if given); returns (exit code, stderr).
fn fails(args: &[&str], path: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coreline-bench"));
    cmd.args(args);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    let out = cmd.output().expect("run coreline-bench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn what_to_fix_is_one_line_and_exit_2() {
    let empty = std::env::temp_dir().join(format!("coreline-bench-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let empty_s = empty.display().to_string();
    // A PATH with taskset but no nginx.
    let taskset = empty.join("taskset");
    if !taskset.exists() {
        std::os::unix::fs::symlink("/usr/bin/taskset", &taskset).unwrap();
    }
    let cases: [(&[&str], Option<&str>, &str); 5] = [
        (
            &["compare", "--no-build", "--bin-dir", &empty_s],
            None,
            "cargo build --release -p coreline-http --bin coreline",
        ),
        (
            &[
                "compare",
                "--no-build",
                "--servers",
                "nginx",
                "--load",
                "wrk",
            ],
            Some(empty_s.as_str()),
            "`nginx` not found: install it with `apt-get install -y nginx-light`",
        ),
        (
            &["compare", "--scenarios", "plain65"],
            None,
            "unknown scenario 'plain65'",
        ),
        (
            &["compare", "--server-cpus", "1", "--client-cpus", "1"],
            None,
            "must not overlap",
        ),
        (
            &[
                "compare",
                "--no-build",
                "--servers",
                "nginx",
                "--nginx-conf",
                "/nonexistent.conf",
            ],
            None,
            "--nginx-conf",
        ),
    ];
    for (args, path, expect) in cases {
        let (code, err) = fails(args, path);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains(expect) && err.trim().lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn failed_load_runs_are_reported_and_exit_1() {
    let _guard = one_at_a_time();
    // A bin dir whose coreline-load always fails, beside the real coreline.
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_coreline-bench"));
    let dir = std::env::temp_dir().join(format!("coreline-bench-failing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("results")).unwrap();
    std::os::unix::fs::symlink(exe.parent().unwrap().join("coreline"), dir.join("coreline"))
        .unwrap();
    let fake = dir.join("coreline-load");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'coreline-load: refused' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(&exe)
        .args([
            "compare",
            "--quick",
            "--no-build",
            "--servers",
            "coreline",
            "--scenarios",
            "plain64,close",
        ])
        .args([
            "--out",
            "failing",
            "--port-base",
            &free_port_base().to_string(),
        ])
        .arg("--bin-dir")
        .arg(&dir)
        .arg("--results-dir")
        .arg(dir.join("results"))
        .output()
        .expect("run coreline-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("2 scenario/server load run(s) failed"),
        "{stderr}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results/failing.json")).unwrap())
            .unwrap();
    for what in ["plain64/coreline", "close/coreline"] {
        let why = json["failed"][what]
            .as_str()
            .unwrap_or_else(|| panic!("{what} not failed: {json}"));
        assert!(why.contains("coreline-load: refused"), "{why}");
    }
    let md = std::fs::read_to_string(dir.join("results/failing.md")).unwrap();
    assert!(
        md.contains("- **failed** `plain64` for coreline: rep 1:"),
        "{md}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
