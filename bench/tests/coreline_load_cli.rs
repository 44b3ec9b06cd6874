//! coreline-load's run-shaping flags through the binary: `-V`, `-n` (a request count),
//! `-t` (threads), `--warmup`, and the responses counted by status code in the summary
//! and the JSON; and coreline-bench's `-V` and per-command `--help`.

mod load_support;

use std::net::SocketAddr;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use coreline_http::{Body, Server, ServerHandle};
use coreline_runtime::Cores;
use http::{Request, Response, StatusCode};
use load_support::{load, temp_dir, Counting};

const BIN: &str = env!("CARGO_BIN_EXE_coreline-load");

/// An in-process server on CPU 0: 404 for `/missing`, 200 for anything else.
struct Statuses {
    addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Statuses {
    fn start() -> Statuses {
        let server = Server::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .cores(Cores::List(vec![0]))
            .build(|| {
                |req: Request<Body>| {
                    let status = match req.uri().path() {
                        "/missing" => StatusCode::NOT_FOUND,
                        _ => StatusCode::OK,
                    };
                    async move {
                        let mut response = Response::new(Body::from_static(b"x"));
                        *response.status_mut() = status;
                        response
                    }
                }
            })
            .expect("build server");
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let thread = std::thread::spawn(move || server.run().expect("server run"));
        assert!(handle.wait_ready(Duration::from_secs(10)), "not ready");
        Statuses {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Statuses {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn version() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        format!("coreline-load {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn coreline_bench_version_help_and_one_line_errors() {
    let bench = env!("CARGO_BIN_EXE_coreline-bench");
    let run = |args: &[&str]| Command::new(bench).args(args).output().unwrap();
    for asks in [&["-V"][..], &["compare", "--version"]] {
        let out = run(asks);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    }
    for command in ["compare", "micro"] {
        let out = run(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("usage: coreline-bench"), "{text}");
    }
    for bad in [
        &["compare", "--repeats", "0"][..],
        &["compare", "--nope"],
        &["frob"],
    ] {
        let out = run(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{bad:?}: {err}");
    }
}

#[test]
fn n_requests_stop_the_run_and_every_status_is_counted() {
    let dir = temp_dir("cli-n");
    let server = Counting::start(None, Duration::ZERO);
    let started = Instant::now();
    let run = load(&dir, &["-c", "4", "-n", "50", &server.url("/")]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it kept running"
    );
    assert_eq!(run.int("requests"), 50);
    assert_eq!(server.count(), 50, "exactly -n requests were sent");
    assert_eq!(run.int("schema_version"), 2);
    assert_eq!(
        (run.int("requests_limit"), run.int("status_counts.200")),
        (50, 50)
    );
    assert!(
        run.stdout().contains("Status codes: 200: 50"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("for 50 requests"), "{}", run.stdout());
}

#[test]
fn status_codes_other_than_200_are_counted_apart() {
    let dir = temp_dir("cli-status");
    let server = Statuses::start();
    let url = format!("http://{}/missing", server.addr);
    let run = load(&dir, &["-c", "2", "-n", "20", "-d", "5", &url]);
    assert_eq!(run.code(), Some(1), "no 2xx: {}", run.stdout());
    assert_eq!(run.int("status_counts.404"), 20);
    assert!(run.json["status_counts"].get("200").is_none());
    assert!(
        run.stdout().contains("Status codes: 404: 20"),
        "{}",
        run.stdout()
    );
}

#[test]
fn threads_pick_cores_and_too_many_warn() {
    let dir = temp_dir("cli-t");
    let server = Counting::start(None, Duration::ZERO);
    let run = load(&dir, &["-c", "2", "-t", "1", "-n", "10", &server.url("/")]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    assert_eq!(run.json["cpus"].as_array().unwrap().len(), 1);
    let online = std::thread::available_parallelism().unwrap().get();
    let many = (online + 1).to_string();
    let run = load(
        &dir,
        &["-c", "8", "-t", &many, "-n", "10", &server.url("/")],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    assert_eq!(run.json["cpus"].as_array().unwrap().len(), online);
    let err = String::from_utf8_lossy(&run.output.stderr);
    assert!(
        err.contains(&format!("warning: -t {many} is more than")),
        "{err}"
    );
}

#[test]
fn warmup_load_is_sent_but_not_measured() {
    let dir = temp_dir("cli-warmup");
    let server = Counting::start(None, Duration::ZERO);
    let run = load(
        &dir,
        &["-c", "2", "-d", "1", "--warmup", "1", &server.url("/")],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let measured = run.int("requests");
    assert!(measured > 0);
    assert!(
        server.count() > measured + measured / 4,
        "the warm-up's requests reached the server ({}) but not the report ({measured})",
        server.count()
    );
    assert_eq!(run.json["warmup_s"].as_f64(), Some(1.0));
    let duration = run.json["duration_s"].as_f64().unwrap();
    assert!((0.9..1.5).contains(&duration), "measured {duration} s");
    assert!(
        run.stdout().contains("after a 1s warm-up"),
        "{}",
        run.stdout()
    );
}
