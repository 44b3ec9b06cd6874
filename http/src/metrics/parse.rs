//! Reading [`prometheus_text`](super::prometheus_text) back into table rows, for
//! `coreline stats` (which polls another process's admin listener).

use std::collections::BTreeMap;

use super::series::SPECS;
use super::table::LatencyRow;

/// The latency rows in Prometheus text written by
/// [`prometheus_text`](super::prometheus_text): every summary family it knows, per
/// `core` label, in the order of the server's table. Lines it does not know are skipped;
/// `Err` says what is malformed.
pub fn rows_from_prometheus(text: &str) -> Result<Vec<LatencyRow>, String> {
    // (family index, core) -> row; BTreeMap keeps kinds in order, cores sorted below.
    let mut rows: BTreeMap<(usize, String), LatencyRow> = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("malformed metrics line: {line}"))?;
        let value: f64 = value
            .parse()
            .map_err(|_| format!("malformed value in metrics line: {line}"))?;
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let label = |key: &str| {
            labels.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == key).then(|| v.trim_matches('"').to_string())
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
}
