//! Reading [`prometheus_text`](super::prometheus_text) back into table rows, for
//! `coreline stats` (which polls another process's admin listener).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

use super::buckets::quantile;
use super::series::{QUANTILES, SPECS};
use super::table::LatencyRow;

/// The most characters of a malformed line quoted in an error.
const QUOTED_CHARS: usize = 120;

/// `text` safe to print on a terminal: control characters (C0, DEL, C1) and the Unicode
/// marks that reorder or hide text (bidirectional overrides and isolates, zero-width
/// marks) become `\u{..}` escapes, so text from another process cannot move the cursor,
/// clear the screen or disguise what is shown.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A line for an error message: its start only, [`printable`].
fn quoted(line: &str) -> String {
    let start: String = line.chars().take(QUOTED_CHARS).collect();
    let more = if start.len() < line.len() { "..." } else { "" };
    format!("{}{more}", printable(&start))
}

/// One (histogram, core) as read: buckets by bound (the bound's bits: bounds are not
/// negative, so their bits sort as they do), count and max, in the text's unit.
#[derive(Default)]
struct Read {
    buckets: BTreeMap<u64, f64>,
    count: Option<f64>,
    max: f64,
}

impl Read {
    fn add(&mut self, other: &Read) {
        for (le, n) in &other.buckets {
            *self.buckets.entry(*le).or_default() += n;
        }
        self.count = Some(self.count.unwrap_or(0.0) + other.count.unwrap_or(0.0));
        self.max = self.max.max(other.max); // (NaN-free unless both are NaN)
    }

    fn row(&self, kind: usize, core: String) -> LatencyRow {
        let spec = &SPECS[kind];
        let scale = if spec.micros { 1e6 } else { 1.0 };
        let buckets: Vec<(f64, f64)> = self
            .buckets
            .iter()
            .map(|(le, n)| (f64::from_bits(*le) * scale, *n))
            .collect();
        let max = self.max * scale;
        LatencyRow {
            metric: spec.short.to_string(),
            core,
            micros: spec.micros,
            quantiles: QUANTILES.map(|(q, _)| quantile(&buckets, q, max)),
            max,
            count: self.count.unwrap_or(0.0) as u64,
        }
    }
}

/// The latency rows in Prometheus text written by
/// [`prometheus_text`](super::prometheus_text): every histogram family it knows, per
/// `core` label, then the cores added together (`all`), in the order of the server's
/// table. Percentiles are estimated from the buckets as Prometheus' `histogram_quantile`
/// does (linear within a bucket, capped at `_max`), so they are as coarse as the buckets.
/// Lines it does not know are skipped; `Err` says what is malformed. The text may come
/// from anywhere, so the `core` label values in the rows and the lines quoted in errors
/// are [`printable`].
pub fn rows_from_prometheus(text: &str) -> Result<Vec<LatencyRow>, String> {
    // (family index, core) -> what was read; BTreeMap keeps kinds in order.
    let mut read: BTreeMap<(usize, String), Read> = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("malformed metrics line: {}", quoted(line)))?;
        let value: f64 = value
            .parse()
            .map_err(|_| format!("malformed value in metrics line: {}", quoted(line)))?;
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let label = |key: &str| {
            labels.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == key).then(|| printable(v.trim_matches('"')).into_owned())
            })
        };
        let Some((i, suffix)) = SPECS.iter().enumerate().find_map(|(i, s)| {
            let rest = name.strip_prefix(s.prom)?;
            matches!(rest, "_bucket" | "_count" | "_max").then_some((i, rest))
        }) else {
            continue;
        };
        let Some(core) = label("core") else { continue };
        let r = read.entry((i, core)).or_insert_with(|| Read {
            max: f64::NAN,
            ..Read::default()
        });
        match suffix {
            "_count" => r.count = Some(value),
            "_max" => r.max = value,
            _ => {
                let le = label("le").and_then(|le| le.parse::<f64>().ok());
                if let Some(le) = le.filter(|le| *le >= 0.0) {
                    r.buckets.insert(le.to_bits(), value);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut kinds: Vec<usize> = read.keys().map(|(i, _)| *i).collect();
    kinds.dedup();
    for kind in kinds {
        let mut cores: Vec<(&String, &Read)> = read
            .iter()
            .filter(|((i, _), _)| *i == kind)
            .map(|((_, core), r)| (core, r))
            .collect();
        // Numbered cores in numeric order, the rest (e.g. `all` from the text) last.
        cores.sort_by_key(|(core, _)| core.parse::<usize>().unwrap_or(usize::MAX));
        let mut all = Read {
            max: f64::NAN,
            ..Read::default()
        };
        for (core, r) in &cores {
            out.push(r.row(kind, core.to_string()));
            all.add(r);
        }
        if !cores.iter().any(|(core, _)| core.as_str() == "all") {
            out.push(all.row(kind, "all".into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_histograms_adds_cores_and_refuses_garbage() {
        let text = "# TYPE coreline_http_service_seconds histogram\n\
            coreline_http_service_seconds_bucket{core=\"1\",le=\"0.001\"} 0\n\
            coreline_http_service_seconds_bucket{core=\"1\",le=\"0.01\"} 2\n\
            coreline_http_service_seconds_bucket{core=\"1\",le=\"+Inf\"} 2\n\
            coreline_http_service_seconds_count{core=\"1\"} 2\n\
            coreline_http_service_seconds_max{core=\"1\"} 0.004\n\
            coreline_http_service_seconds_bucket{core=\"0\",le=\"0.001\"} 2\n\
            coreline_http_service_seconds_bucket{core=\"0\",le=\"0.01\"} 2\n\
            coreline_http_service_seconds_bucket{core=\"0\",le=\"+Inf\"} 2\n\
            coreline_http_service_seconds_count{core=\"0\"} 2\n\
            coreline_http_service_seconds_max{core=\"0\"} 0.0008\n\
            other_metric{core=\"0\"} 1\n\
            coreline_accept_queue_depth_count{core=\"0\"} 3\n";
        let rows = rows_from_prometheus(text).unwrap();
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.metric.as_str(), r.core.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("service", "0"),
                ("service", "1"),
                ("service", "all"),
                ("accept_queue", "0"),
                ("accept_queue", "all")
            ]
        );
        let (c0, c1, all) = (&rows[0], &rows[1], &rows[2]);
        assert_eq!((c0.count, c1.count, all.count), (2, 2, 4));
        assert!((c0.quantiles[0] - 500.0).abs() < 1e-6, "{c0:?}"); // half of (0, 1 ms]
        assert!((c0.quantiles[3] - 800.0).abs() < 1e-6, "{c0:?}"); // capped at max
        assert!((c1.quantiles[0] - 4_000.0).abs() < 1e-6, "{c1:?}"); // capped at max
        assert!((all.max - 4_000.0).abs() < 1e-6);
        assert!(
            all.quantiles[0] <= 1_000.0 && all.quantiles[2] > 1_000.0,
            "{all:?}"
        );
        assert!(rows[3].quantiles[0].is_nan());
        for bad in ["novalue", "coreline_http_service_seconds{core=\"0\"} abc"] {
            assert!(rows_from_prometheus(bad).is_err(), "{bad}");
        }
        assert!(rows_from_prometheus("<html>\n").is_err());
    }

    #[test]
    fn what_is_printed_has_no_control_characters() {
        let text =
            "coreline_http_service_seconds_count{core=\"\x1b[2J\x1b]0;owned\x07\u{202e}\"} 1\n";
        let rows = rows_from_prometheus(text).unwrap();
        assert_eq!(rows[0].core, "\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{202e}");
        let bad = format!("x\x1b[31m{} tail", "y".repeat(500));
        let e = rows_from_prometheus(&bad).unwrap_err();
        assert!(!e.contains('\x1b') && e.contains("\\u{1b}[31m"), "{e}");
        assert!(e.len() < 200 && e.ends_with("..."), "{e}");
        assert_eq!(printable("plain é"), "plain é");
        assert_eq!(printable("a\u{85}b\u{7f}"), "a\\u{85}b\\u{7f}");
    }
}
