//! What a session records: each run, and everything for the report.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::measure::Measured;
use crate::servers::Kind;

/// One run as recorded.
#[derive(Debug, Clone)]
pub struct Run {
    /// Repeat number (1-based).
    pub rep: usize,
    /// Attempt number (1-based; > 1 when earlier ones were disturbed).
    pub attempt: usize,
    /// Busiest CPU's share just before the run.
    pub busy_before_pct: f64,
    /// The measurements.
    pub m: Measured,
    /// Why the run cannot be trusted, if it still could not after the retries.
    pub disturbed: Option<String>,
    /// The exact load command.
    pub command: String,
    /// The latency plot coreline-load drew for this run, if any.
    pub plot: Option<PathBuf>,
}

/// Everything a session produced, for the report.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Runs per (scenario, server).
    pub runs: BTreeMap<(String, Kind), Vec<Run>>,
    /// Why a (scenario, server) pair was not run.
    pub skipped: BTreeMap<(String, Kind), String>,
    /// Why a (scenario, server) pair's load run failed (no further repeats of it were run).
    pub failed: BTreeMap<(String, Kind), String>,
    /// Open-loop rates used (requests/s), per scenario.
    pub rates: BTreeMap<String, f64>,
    /// nginx's capacity the rates derive from, and where it came from.
    pub capacity: Option<(f64, String)>,
    /// Notes for the report header.
    pub notes: Vec<String>,
}
