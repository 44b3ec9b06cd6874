//! coreline-bench: the `coreline-load` load generator and the `coreline-bench` comparison
//! harness (binaries in `src/bin/`), and the one type they share: the result document
//! `coreline-load --json` writes and `coreline-bench compare` reads ([`LoadReport`]).

mod load_report;

pub use load_report::{
    ErrorCounts, LatencyUs, LoadReport, LoadSummary, LOAD_REPORT_SCHEMA_VERSION,
    OLDEST_READABLE_SCHEMA_VERSION,
};
