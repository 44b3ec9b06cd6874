//! `--hlog FILE`: the run as an HdrHistogram interval log (the format of the Java
//! `HistogramLogWriter`, readable by `HistogramLogProcessor` and hdrhistogram's
//! `IntervalLogIterator`): one histogram per second of the run, all cores merged, values
//! in microseconds, compressed V2 encoding.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

/// Writes `intervals` (interval `k` starts `k` seconds after `started`; the last one may be
/// shorter, ending at `total`) to `path`.
pub fn write(
    path: &Path,
    started: SystemTime,
    intervals: &[Histogram<u64>],
    total: Duration,
) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("--hlog {}: {e}", path.display());
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| fail(&e))?);
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment("coreline-load latency log, values in microseconds")
        .with_start_time(started)
        .with_base_time(started)
        .begin_log_with(&mut file, &mut serializer)
        .map_err(|e| fail(&e))?;
    for (k, h) in intervals.iter().enumerate() {
        let start = Duration::from_secs(k as u64);
        let length = total.saturating_sub(start).min(Duration::from_secs(1));
        log.write_histogram(h, start, length, None)
            .map_err(|e| fail(&e))?;
    }
    drop(log);
    file.flush().map_err(|e| fail(&e))
}
