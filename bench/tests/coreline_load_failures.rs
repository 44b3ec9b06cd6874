//! coreline-load when things go wrong: no server, a silent one, bad arguments, and
//! Ctrl-C. Each run is bounded (the tool's own -d and --timeout, and the test's clock).

mod load_support;

use std::time::{Duration, Instant};

use load_support::raw::{Raw, Script};
use load_support::{dead_port, load, temp_dir, Counting};

#[test]
fn absent_server_counts_connect_errors_and_exits_1() {
    let dir = temp_dir("absent");
    let addr = dead_port();
    let started = Instant::now();
    let run = load(&dir, &["-c", "2", "-d", "0.5", &format!("http://{addr}/")]);
    assert_eq!(run.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.int("requests"), 0);
    assert!(run.int("errors.connect") > 2);
    // Counted by cause too: every connect error here is a refusal.
    assert_eq!(
        run.int("error_causes.connect.ECONNREFUSED"),
        run.int("errors.connect")
    );
    let out = run.stdout();
    assert!(out.contains("connect") && out.contains("refused"), "{out}");
}

#[test]
fn silent_server_times_out_and_the_run_stays_bounded() {
    let dir = temp_dir("silent");
    let server = Raw::start(Script::Silent);
    let started = Instant::now();
    let run = load(
        &dir,
        &["-c", "2", "-d", "1", "--timeout", "0.3", &server.url()],
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.code(), Some(1));
    assert!(run.int("errors.timeout") >= 4, "{}", run.json);
    assert_eq!(run.int("requests"), 0);
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    let bin = env!("CARGO_BIN_EXE_coreline-load");
    for args in [
        &["-d", "1", "http://127.0.0.1:1/"][..],
        &["-c", "1", "-d", "1", "ftp://x/"],
        &[
            "-c",
            "1",
            "-d",
            "1",
            "--pipeline",
            "0",
            "http://127.0.0.1:1/",
        ],
        &[
            "-c",
            "1",
            "-d",
            "1",
            "--cpus",
            "9999",
            "http://127.0.0.1:1/",
        ],
        &[
            "-c",
            "1",
            "-d",
            "1",
            "--cacert",
            "/nonexistent.pem",
            "https://localhost:1/",
        ],
    ] {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("coreline-load: "), "{args:?}: {err}");
        assert!(!err.lines().next().unwrap().is_empty());
    }
    let help = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("NOT verified"));
}

#[test]
fn ctrl_c_ends_the_run_early_with_a_report() {
    let dir = temp_dir("interrupt");
    let server = Counting::start(None, Duration::ZERO);
    let json = dir.join("out.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_coreline-load"))
        .args(["-c", "4", "-d", "30", "--quiet", "--json"])
        .arg(&json)
        .arg(server.url("/"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(3), "it kept running");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("interrupted"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["interrupted"], serde_json::Value::Bool(true));
    let secs = v["duration_s"].as_f64().unwrap();
    assert!((1.0..2.5).contains(&secs), "duration {secs}");
    let requests = v["requests"].as_u64().unwrap();
    assert!(requests > 10 && requests <= server.count());
}
