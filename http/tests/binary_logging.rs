//! `coreline serve`'s logs on stderr: `--log-level` hides or shows records, `--log-format
//! json` writes one JSON object per line, and SIGHUP with `--config` applies a new
//! log-level, keeps everything on a broken file (one error line) and names each changed
//! key that takes a restart.

#[path = "common/mod.rs"]
mod common;
#[path = "common/served.rs"]
mod served;

/// The binary tests speak plain HTTP through `common`.
pub const OVER_TLS: bool = false;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::still_serves;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use served::Served;

const LIMIT: Duration = Duration::from_secs(10);

/// A server started with stderr piped, and the lines it has logged so far.
struct Logged {
    served: Served,
    lines: Arc<Mutex<Vec<String>>>,
    reader: JoinHandle<()>,
}

impl Logged {
    fn start(extra: &[&str]) -> Logged {
        let mut served = Served::start(extra, Stdio::piped);
        let stderr = BufReader::new(served.child.stderr.take().unwrap());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Logged {
            served,
            lines,
            reader,
        }
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.served.child.id() as i32), signal).unwrap();
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a line contains `text`; panics with the log if none does in time.
    fn wait_for(&self, text: &str) -> String {
        let end = Instant::now() + LIMIT;
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(text)) {
                return line;
            }
            assert!(
                Instant::now() < end,
                "no line with {text:?} within {LIMIT:?}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then every line it logged up to its exit (0).
    fn stop(mut self) -> Vec<String> {
        self.signal(Signal::SIGTERM);
        let end = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.served.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < end, "it did not exit within {LIMIT:?}");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.code(), Some(0), "{status}");
        // The pipe ends with the process: the reader has every line then.
        let lines = self.lines.clone();
        self.reader.join().unwrap();
        let all = lines.lock().unwrap().clone();
        all
    }
}

/// A config file of its own per test, removed on drop.
struct Config(PathBuf);

impl Config {
    fn new(name: &str, text: &str) -> Config {
        let path = std::env::temp_dir().join(format!(
            "coreline-logging-{name}-{}.toml",
            std::process::id()
        ));
        let config = Config(path);
        config.write(text);
        config
    }

    fn write(&self, text: &str) {
        std::fs::write(&self.0, text).unwrap();
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn count(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|l| l.contains(text)).count()
}

#[test]
fn log_level_warn_hides_the_startup_lines_and_debug_shows_more() {
    let info = Logged::start(&[]).stop();
    let serving = info
        .iter()
        .find(|l| l.contains("coreline: serving http://"))
        .unwrap_or_else(|| panic!("info shows the startup line: {info:?}"));
    // Text lines: time (UTC, RFC 3339), level, message.
    let (ts, rest) = serving.split_once(' ').unwrap();
    assert!(
        ts.len() >= 20 && ts.ends_with('Z') && ts.contains('T'),
        "{serving}"
    );
    assert!(rest.starts_with("INFO  coreline: serving"), "{serving}");
    assert_eq!(count(&info, "stopped"), 1, "{info:?}");
    assert_eq!(count(&info, "DEBUG"), 0, "{info:?}");

    let warn = Logged::start(&["--log-level", "warn"]).stop();
    assert!(warn.is_empty(), "warn hides the info lines: {warn:?}");

    let debug = Logged::start(&["--log-level", "debug"]).stop();
    let settings = debug
        .iter()
        .find(|l| l.contains(" DEBUG coreline: settings given: "))
        .unwrap_or_else(|| panic!("debug shows the settings: {debug:?}"));
    assert!(settings.contains("log-level=debug"), "{settings}");
    assert_eq!(count(&debug, "coreline: serving http://"), 1, "{debug:?}");
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let lines = Logged::start(&["--log-format", "json", "--log-level", "debug"]).stop();
    assert!(lines.len() >= 3, "{lines:?}");
    let mut levels = Vec::new();
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let field = |name: &str| {
            v[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name}: {line}"))
                .to_string()
        };
        let ts = field("ts");
        assert!(ts.ends_with('Z') && ts.contains('T'), "{line}");
        assert!(field("target").starts_with("coreline"), "{line}");
        assert!(field("msg").starts_with("coreline: "), "{line}");
        levels.push(field("level"));
    }
    assert!(levels.contains(&"DEBUG".to_string()), "{lines:?}");
    let serving = lines
        .iter()
        .find(|l| l.contains("serving http://"))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(serving).unwrap();
    assert_eq!(v["level"], "INFO", "{serving}");
}

#[test]
fn sighup_applies_a_new_log_level_from_the_config_file() {
    let config = Config::new("level", "log-level = \"warn\"\n");
    let logged = Logged::start(&["--config", config.path()]);
    still_serves(logged.served.addr);
    config.write("log-level = \"info\"\n");
    logged.signal(Signal::SIGHUP);
    logged.wait_for("log-level is now info");
    let lines = logged.stop();
    assert_eq!(
        count(&lines, "serving http://"),
        0,
        "warn at start: {lines:?}"
    );
    assert_eq!(
        count(&lines, "SIGTERM: shutting down"),
        1,
        "info after: {lines:?}"
    );
    assert_eq!(count(&lines, "stopped"), 1, "{lines:?}");
    assert_eq!(
        count(&lines, "WARN"),
        0,
        "nothing takes a restart: {lines:?}"
    );
}

#[test]
fn sighup_with_a_broken_config_keeps_serving_and_logs_one_error() {
    let config = Config::new("broken", "log-level = \"warn\"\n");
    let logged = Logged::start(&["--config", config.path()]);
    config.write("log-level = \"info\"\nmax-connections = \"many\"\n");
    logged.signal(Signal::SIGHUP);
    let error = logged.wait_for("ERROR");
    // It names the file, the line and the value to fix.
    assert!(
        error.contains(&format!("{}:2:", config.path())) && error.contains("many"),
        "{error}"
    );
    still_serves(logged.served.addr);
    let lines = logged.stop();
    assert_eq!(lines, vec![error], "one line, and warn still in force");
}

#[test]
fn sighup_logs_each_changed_key_that_takes_a_restart() {
    let config = Config::new("restart", "max-connections = 100\nbacklog = 64\n");
    let logged = Logged::start(&["--config", config.path()]);
    config.write("max-connections = 200\nbacklog = 64\nlog-level = \"debug\"\n");
    logged.signal(Signal::SIGHUP);
    logged.wait_for("log-level is now debug");
    still_serves(logged.served.addr);
    // Still not in force: a second SIGHUP says so again.
    logged.signal(Signal::SIGHUP);
    logged.wait_for("DEBUG coreline: SIGHUP: settings given");
    let lines = logged.stop();
    let restart = "coreline: SIGHUP: max-connections changed: takes a restart";
    assert_eq!(count(&lines, restart), 2, "{lines:?}");
    assert_eq!(count(&lines, "WARN"), 2, "only that key: {lines:?}");
    assert_eq!(count(&lines, "log-level is now"), 1, "{lines:?}");
}
