//! HdrHistogram interval logs (`.hlog`) of a [`MetricsSnapshot`], readable by the
//! HdrHistogram tools (HistogramLogAnalyzer, `hdrhistogram`'s `interval_log` reader).
//!
//! The histograms are cumulative since the server started, so each log holds one
//! interval per histogram and core, from the start to the snapshot, tagged
//! `<metric>.core<N>` or `<metric>.all` (e.g. `service.core0`). Latencies are in
//! microseconds; the log's max column is in milliseconds (MaxValueDivisor 1000).

use std::io::{self, Write};
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;

use super::series::series;
use super::snapshot::MetricsSnapshot;

/// Writes `snap` as an interval log to `out`.
pub fn write_interval_log(snap: &MetricsSnapshot, out: &mut impl Write) -> io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("coreline metrics: cumulative since start; tags <metric>.core<N>|all")
        .add_comment("latencies in microseconds; accept_queue and completions are counts")
        .with_start_time(snap.started)
        .with_base_time(snap.started)
        .with_max_value_divisor(1000.0)
        .begin_log_with(out, &mut serializer)?;
    for s in series(snap) {
        let name = match s.core.as_str() {
            "all" => format!("{}.all", s.spec.short),
            n => format!("{}.core{n}", s.spec.short),
        };
        let tag = Tag::new(&name);
        writer
            .write_histogram(&s.hist, Duration::ZERO, snap.uptime, tag)
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
    }
    Ok(())
}
