//! Many writers, one file: exactly one whole line per request from concurrent keep-alive
//! clients on two cores, and logrotate's move-then-SIGHUP losing none.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use regex::Regex;

use crate::common::Client;
use crate::support::{lines, temp_dir, wait_lines, Server};
use crate::COMBINED;

const THREADS: usize = 8;
const PER_THREAD: usize = 500;

/// `n` keep-alive requests for `/plaintext?tag-i`, each answered 200.
fn requests(addr: SocketAddr, tag: &str, n: usize) {
    let mut c = Client::connect(addr);
    for i in 0..n {
        c.send(format!("GET /plaintext?{tag}-{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        assert_eq!(c.response(false).status, 200);
    }
}

/// The `tag-i` of each line, checking that every line is a whole combined line.
fn tags(lines: &[String]) -> Vec<String> {
    let re = Regex::new(COMBINED).unwrap();
    lines
        .iter()
        .map(|line| {
            let f = re
                .captures(line)
                .unwrap_or_else(|| panic!("not a whole line: {line:?}"));
            let request = &f[3];
            let target = request.strip_prefix("GET /plaintext?").unwrap();
            target.strip_suffix(" HTTP/1.1").unwrap().to_owned()
        })
        .collect()
}

#[test]
fn one_whole_line_per_request_from_concurrent_clients() {
    let dir = temp_dir("concurrent");
    let log = dir.join("access.log");
    let mut server = Server::start(
        &["--cpus", "0,1", "--access-log", log.to_str().unwrap()],
        false,
        &dir,
    );
    let addr = server.addr;
    let clients: Vec<_> = (0..THREADS)
        .map(|t| std::thread::spawn(move || requests(addr, &format!("t{t}"), PER_THREAD)))
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    server.stop(); // the last lines are written before it exits
    let got = tags(&lines(&log));
    assert_eq!(got.len(), THREADS * PER_THREAD);
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "a request logged twice");
    for t in 0..THREADS {
        for i in 0..PER_THREAD {
            assert!(unique.contains(&format!("t{t}-{i}")), "t{t}-{i} missing");
        }
    }
}

fn wait_exists(path: &Path) {
    let end = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(Instant::now() < end, "{} not created", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sighup_after_a_move_reopens_the_file() {
    let dir = temp_dir("reopen");
    let log = dir.join("access.log");
    let moved = dir.join("access.log.1");
    let mut server = Server::start(&["--access-log", log.to_str().unwrap()], false, &dir);
    requests(server.addr, "before", 50);
    wait_lines(&log, 50);
    std::fs::rename(&log, &moved).unwrap();
    // Still written to the moved file (its descriptor) until the signal.
    requests(server.addr, "moved", 50);
    server.signal(Signal::SIGHUP);
    wait_exists(&log);
    requests(server.addr, "after", 50);
    server.stop();
    let (old, new) = (tags(&lines(&moved)), tags(&lines(&log)));
    assert!(old.iter().filter(|t| t.starts_with("before")).count() == 50);
    let after: Vec<_> = new.iter().filter(|t| t.starts_with("after")).collect();
    assert_eq!(after.len(), 50, "every later line in the new file");
    assert!(!new.iter().any(|t| t.starts_with("before")));
    let moved_lines = old
        .iter()
        .chain(&new)
        .filter(|t| t.starts_with("moved"))
        .count();
    assert_eq!(moved_lines, 50, "none lost around the switch");
    assert_eq!(old.len() + new.len(), 150);
}
