//! The binary's sink for every `log` record (its own and the libraries'), on stderr, where
//! a terminal shows it and journald or a container runtime collects it.
//!
//! env_logger formats and writes: each record is formatted into a buffer and written to
//! stderr with one `write_all` under stderr's lock, so lines from several cores never
//! interleave. The level is `log`'s global maximum rather than env_logger's filter, so
//! SIGHUP can change it while serving ([`set_level`]).
//!
//! - `text`: `2025-01-31T12:00:00.123456Z INFO  coreline: message` (UTC, then the level,
//!   then the message, which names the program).
//! - `json`: one object per line, `{"ts":"2025-01-31T12:00:00.123456Z","level":"INFO",
//!   "target":"coreline_http::server::accept","msg":"coreline: ..."}` (`target`: the
//!   module that logged it).

use std::io::Write;

use env_logger::fmt::Formatter;
use log::{LevelFilter, Record};

/// `--log-format`: how each line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Time, level and message, for people.
    #[default]
    Text,
    /// One JSON object per line (`ts`, `level`, `target`, `msg`), for log collectors.
    Json,
}

/// Installs the sink (once, at start) with records up to `level` shown.
pub fn init(format: LogFormat, level: LevelFilter) {
    let mut builder = env_logger::Builder::new();
    builder
        .target(env_logger::Target::Stderr)
        .write_style(env_logger::WriteStyle::Never)
        // Every record reaches the sink; `log`'s maximum level decides (see `set_level`).
        .filter_level(LevelFilter::Trace);
    match format {
        LogFormat::Text => builder.format(text),
        LogFormat::Json => builder.format(json),
    };
    if builder.try_init().is_ok() {
        set_level(level);
    }
}

/// Shows records up to `level` from now on, on every thread.
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}

fn text(buf: &mut Formatter, record: &Record<'_>) -> std::io::Result<()> {
    writeln!(
        buf,
        "{} {:<5} {}",
        buf.timestamp_micros(),
        record.level(),
        record.args()
    )
}

fn json(buf: &mut Formatter, record: &Record<'_>) -> std::io::Result<()> {
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    writeln!(
        buf,
        "{{\"ts\":\"{}\",\"level\":\"{}\",\"target\":{},\"msg\":{}}}",
        buf.timestamp_micros(),
        record.level(),
        quoted(record.target()),
        quoted(&record.args().to_string())
    )
}
