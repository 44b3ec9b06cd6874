//! coreline-bench: the `coreline-load` load generator and the `coreline-bench` comparison
//! harness (binaries in `src/bin/`), and the one type they share: the result document
//! `coreline-load --json` writes and `coreline-bench compare` reads ([`LoadReport`]).
//!
//! ```no_run
//! use coreline_bench::LoadReport;
//!
//! // Written by `coreline-load --json run.json -c 64 -d 10 http://127.0.0.1:8080/plaintext`.
//! let report = LoadReport::from_json(&std::fs::read_to_string("run.json")?)?;
//! println!(
//!     "{:.0} requests/s, p99 {} µs, {} errors",
//!     report.summary.requests_per_sec,
//!     report.summary.latency_us.p99,
//!     report.summary.errors.total()
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod load_report;

pub use load_report::{
    ErrorCounts, LatencyUs, LoadReport, LoadSummary, LOAD_REPORT_SCHEMA_VERSION,
    OLDEST_READABLE_SCHEMA_VERSION,
};
