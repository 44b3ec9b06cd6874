//! Running a real client tool (curl, openssl, python3, h2load...) with a time limit and
//! reading what it printed.

#![allow(dead_code)] // each test binary uses part of it

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished tool printed.
pub struct Output {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn describe(&self) -> String {
        format!(
            "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `tool args...` to completion (killed after `limit`), capturing its output. A tool that
/// is not installed fails the test with what to do about it.
pub fn run(tool: &str, args: &[&str], limit: Duration) -> Output {
    let mut child = match Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed: run ci/test.sh, which installs the real clients these \
             tests use (curl, python3, apache2-utils for ab, nghttp2-client for h2load, wrk)"
        ),
        Err(e) => panic!("cannot run `{tool}`: {e}"),
    };
    let reader = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout piped")));
    let err = reader(Box::new(child.stderr.take().expect("stderr piped")));
    let end = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("waiting for a client tool") {
            Some(status) => break status,
            None if Instant::now() > end => {
                let _ = child.kill();
                let _ = child.wait();
                let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
                panic!(
                    "`{tool} {}` did not finish within {limit:?}\n--- stdout ---\n{stdout}\n\
                     --- stderr ---\n{stderr}",
                    args.join(" ")
                );
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    };
    Output {
        success: status.success(),
        status: status.to_string(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The value after `key:` on the first line of `text` that starts with `key:` (trimmed).
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        l.trim_start()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}
