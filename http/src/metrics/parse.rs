//! Reading [`prometheus_text`](super::prometheus_text) back into table rows, for
//! `coreline stats` (which polls another process's admin listener).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

use super::series::SPECS;
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

/// The latency rows in Prometheus text written by
/// [`prometheus_text`](super::prometheus_text): every summary family it knows, per
/// `core` label, in the order of the server's table. Lines it does not know are skipped;
/// `Err` says what is malformed. The text may come from anywhere, so the `core` label
/// values in the rows and the lines quoted in errors are [`printable`].
pub fn rows_from_prometheus(text: &str) -> Result<Vec<LatencyRow>, String> {
    // (family index, core) -> row; BTreeMap keeps kinds in order, cores sorted below.
    let mut rows: BTreeMap<(usize, String), LatencyRow> = BTreeMap::new();
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
        let Some((i, spec, suffix)) = SPECS.iter().enumerate().find_map(|(i, s)| {
            let rest = name.strip_prefix(s.prom)?;
            matches!(rest, "" | "_count" | "_max").then_some((i, s, rest))
        }) else {
            continue;
        };
        let Some(core) = label("core") else { continue };
        let scale = if spec.micros { 1e6 } else { 1.0 };
        let row = rows.entry((i, core.clone())).or_insert_with(|| LatencyRow {
            metric: spec.short.to_string(),
            core,
            micros: spec.micros,
            quantiles: [f64::NAN; 4],
            max: f64::NAN,
            count: 0,
        });
        match suffix {
            "_count" => row.count = value as u64,
            "_max" => row.max = value * scale,
            _ => {
                let slot = match label("quantile").as_deref() {
                    Some("0.5") => 0,
                    Some("0.9") => 1,
                    Some("0.99") => 2,
                    Some("0.999") => 3,
                    _ => continue,
                };
                row.quantiles[slot] = value * scale;
            }
        }
    }
    let mut out: Vec<LatencyRow> = rows.into_values().collect();
    // Numbered cores in numeric order, `all` last, within each kind (kinds keep order).
    out.sort_by_key(|r| {
        let kind = SPECS.iter().position(|s| s.short == r.metric);
        (kind, r.core.parse::<usize>().unwrap_or(usize::MAX))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_summaries_and_refuses_garbage() {
        let text = "# TYPE coreline_http_service_seconds summary\n\
            coreline_http_service_seconds{core=\"1\",quantile=\"0.5\"} 0.002\n\
            coreline_http_service_seconds{core=\"0\",quantile=\"0.99\"} 0.005\n\
            coreline_http_service_seconds_count{core=\"0\"} 7\n\
            coreline_http_service_seconds_max{core=\"0\"} 0.006\n\
            other_metric{core=\"0\"} 1\n\
            coreline_accept_queue_depth{core=\"all\",quantile=\"0.9\"} 3\n";
        let rows = rows_from_prometheus(text).unwrap();
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.metric.as_str(), r.core.as_str()))
            .collect();
        assert_eq!(
            keys,
            [("service", "0"), ("service", "1"), ("accept_queue", "all")]
        );
        assert_eq!(rows[0].count, 7);
        assert!((rows[0].quantiles[2] - 5_000.0).abs() < 1e-6);
        assert!((rows[0].max - 6_000.0).abs() < 1e-6);
        assert!(rows[0].quantiles[0].is_nan());
        assert_eq!(rows[2].quantiles[1], 3.0);
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
