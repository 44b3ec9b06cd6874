//! What a core counts: responses, bytes, errors by kind (with the first message of each),
//! the latency histogram of the whole run and of the current one-second interval.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Lowest and highest latency recorded, in µs (1 µs .. 60 s), at 3 significant digits.
pub const LOWEST_US: u64 = 1;
pub const HIGHEST_US: u64 = 60_000_000;
pub const SIGFIG: u8 = 3;

/// A latency histogram with the run's bounds.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).expect("valid histogram bounds")
}

/// The kinds of error, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The TCP connect (or TLS handshake) failed.
    Connect,
    /// Receiving failed, or the server closed with requests outstanding.
    Read,
    /// Sending failed.
    Write,
    /// No response within `--timeout` (one per request given up).
    Timeout,
    /// A response whose status is not 2xx or 3xx (it still counts as a response).
    Status,
    /// A response that could not be parsed.
    Parse,
}

impl ErrorKind {
    /// Every kind, in report (and JSON) order.
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::Connect,
        ErrorKind::Read,
        ErrorKind::Write,
        ErrorKind::Timeout,
        ErrorKind::Status,
        ErrorKind::Parse,
    ];

    /// The JSON key and report label.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Read => "read",
            ErrorKind::Write => "write",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Status => "status",
            ErrorKind::Parse => "parse",
        }
    }
}

/// Error counts, with the first message seen of each kind (to say *why* in the report),
/// and the I/O errors of each kind counted by cause (`EADDRNOTAVAIL`, `ECONNREFUSED`, ...).
#[derive(Debug, Clone, Default)]
pub struct Errors {
    pub counts: [u64; 6],
    pub first: [Option<String>; 6],
    pub causes: [BTreeMap<String, u64>; 6],
}

/// An I/O error's cause as a short name: the errno's (`EADDRNOTAVAIL`), else the kind's.
pub fn cause(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => format!("{:?}", nix::errno::Errno::from_raw(code)),
        None => format!("{:?}", e.kind()),
    }
}

impl Errors {
    /// Counts `n` errors of `kind`; `why` is evaluated only for the first one.
    pub fn add(&mut self, kind: ErrorKind, n: u64, why: impl FnOnce() -> String) {
        let i = kind as usize;
        if self.first[i].is_none() {
            self.first[i] = Some(why());
        }
        self.counts[i] += n;
    }

    /// Counts `n` I/O errors of `kind`, by cause too.
    pub fn add_io(&mut self, kind: ErrorKind, n: u64, e: &io::Error) {
        self.add(kind, n, || e.to_string());
        *self.causes[kind as usize].entry(cause(e)).or_default() += n;
    }

    /// The count of one kind.
    pub fn count(&self, kind: ErrorKind) -> u64 {
        self.counts[kind as usize]
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn merge(&mut self, other: &Errors) {
        for i in 0..self.counts.len() {
            self.counts[i] += other.counts[i];
            if self.first[i].is_none() {
                self.first[i].clone_from(&other.first[i]);
            }
            for (cause, n) in &other.causes[i] {
                *self.causes[i].entry(cause.clone()).or_default() += n;
            }
        }
    }
}

/// One core's counters (later: the merged counters of all cores).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Responses completed.
    pub requests: u64,
    /// Response bytes received (plaintext for TLS).
    pub bytes: u64,
    pub errors: Errors,
    /// Latency of every response of the run, in µs.
    pub latency: Histogram<u64>,
    /// Latency of the responses of the current interval (for the interval log).
    pub interval: Histogram<u64>,
    /// Closed intervals: `intervals[k]` covers seconds k..k+1 of the run.
    pub intervals: Vec<Histogram<u64>>,
    /// When the last response arrived, as time since the measured run's start.
    pub last_response: Duration,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            requests: 0,
            bytes: 0,
            errors: Errors::default(),
            latency: histogram(),
            interval: histogram(),
            intervals: Vec::new(),
            last_response: Duration::ZERO,
            statuses: BTreeMap::new(),
        }
    }
}

impl Stats {
    /// Records a completed response with its latency and status.
    pub fn response(&mut self, latency: Duration, status: u16, since_start: Duration) {
        let us = (latency.as_micros() as u64).max(LOWEST_US);
        self.latency.saturating_record(us);
        self.interval.saturating_record(us);
        self.requests += 1;
        self.last_response = since_start;
        *self.statuses.entry(status).or_default() += 1;
        if !(200..400).contains(&status) {
            self.errors
                .add(ErrorKind::Status, 1, || format!("status {status}"));
        }
    }

    /// Closes the current interval.
    pub fn rotate(&mut self) {
        let closed = std::mem::replace(&mut self.interval, histogram());
        self.intervals.push(closed);
    }

    /// Adds another core's counters (intervals merged by index).
    pub fn merge(&mut self, other: &Stats) {
        self.requests += other.requests;
        self.bytes += other.bytes;
        self.errors.merge(&other.errors);
        self.latency.add(&other.latency).expect("same bounds");
        for (k, h) in other.intervals.iter().enumerate() {
            if k == self.intervals.len() {
                self.intervals.push(histogram());
            }
            self.intervals[k].add(h).expect("same bounds");
        }
        self.last_response = self.last_response.max(other.last_response);
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
    }
}
