//! The binary's sink for the libraries' `log` records: each message on its own line on
//! stderr, as written (the libraries' warnings already start with `coreline:`). Levels and
//! formats beyond that are the binary's to add; the libraries only name a level.

use std::io::Write;

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            // One write per line, so lines from several cores never interleave.
            let line = format!("{}\n", record.args());
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// Sends warnings and errors to stderr (called once, at start).
pub fn init() {
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
