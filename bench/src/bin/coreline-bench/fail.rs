//! How `coreline-bench` fails: every failure is one line on stderr and an exit code
//! (2 for something the user must fix — a flag, a missing tool, a missing file; 1 for a run
//! that went wrong; 0 for `--help`).

use std::fmt;

/// A reason to stop.
#[derive(Debug)]
pub enum Fail {
    /// `--help`: print this and exit 0.
    Help(String),
    /// A bad command line (exit 2, with a pointer to `--help`).
    Usage(String),
    /// Something to install, build or fix before running (exit 2).
    Setup(String),
    /// A run that failed: a server died, the load tool failed (exit 1).
    Run(String),
}

/// A bad command line.
pub fn usage(msg: impl Into<String>) -> Fail {
    Fail::Usage(msg.into())
}

/// Something the user has to install or fix.
pub fn setup(msg: impl Into<String>) -> Fail {
    Fail::Setup(msg.into())
}

/// A run that went wrong.
pub fn run(msg: impl Into<String>) -> Fail {
    Fail::Run(msg.into())
}

impl Fail {
    /// The process exit code for this failure.
    pub fn code(&self) -> u8 {
        match self {
            Fail::Help(_) => 0,
            Fail::Usage(_) | Fail::Setup(_) => 2,
            Fail::Run(_) => 1,
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Help(text) => f.write_str(text),
            Fail::Usage(m) => write!(f, "coreline-bench: {m} (see coreline-bench compare --help)"),
            Fail::Setup(m) | Fail::Run(m) => write!(f, "coreline-bench: {m}"),
        }
    }
}

/// Prints a progress note on stderr (the report itself goes to stdout and files).
pub fn note(msg: impl AsRef<str>) {
    eprintln!("# {}", msg.as_ref());
}
