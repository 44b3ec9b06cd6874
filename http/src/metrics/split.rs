//! The per-core split of connections, read back from Prometheus text: how many each core
//! accepted and holds open, which shows how evenly the listeners share new connections
//! (see `ListenerMode`). Printed by `coreline stats` under the latency table.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::parse::printable;

/// One core's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSplit {
    /// The core's index (the `core` label, [`printable`]).
    pub core: String,
    /// Connections accepted since the server started.
    pub accepted: u64,
    /// Connections open now.
    pub open: u64,
}

const ACCEPTED: &str = "coreline_http_connections_accepted_total";
const OPEN: &str = "coreline_http_connections_open";

/// Each numbered core's accepted and open connections in `text`, in core order; lines
/// that are not those two families (or malformed) are skipped.
pub fn split_from_prometheus(text: &str) -> Vec<CoreSplit> {
    let mut cores: BTreeMap<usize, CoreSplit> = BTreeMap::new();
    for line in text.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((name, labels)) = series.split_once('{') else {
            continue;
        };
        if name != ACCEPTED && name != OPEN {
            continue;
        }
        let core = labels
            .trim_end_matches('}')
            .split(',')
            .find_map(|kv| kv.strip_prefix("core=\""))
            .map(|v| v.trim_end_matches('"'));
        let (Some(index), Ok(value)) = (core.and_then(|c| c.parse().ok()), value.parse::<f64>())
        else {
            continue;
        };
        let entry = cores.entry(index).or_insert_with(|| CoreSplit {
            core: printable(&index.to_string()).into_owned(),
            accepted: 0,
            open: 0,
        });
        match name == ACCEPTED {
            true => entry.accepted = value as u64,
            false => entry.open = value as u64,
        }
    }
    cores.into_values().collect()
}

/// The split as a small table: each core's accepted connections (and share of all),
/// and open ones.
pub fn render_split(split: &[CoreSplit]) -> String {
    let total: u64 = split.iter().map(|c| c.accepted).sum();
    let mut out = format!(
        "{:<13} {:>4} {:>12} {:>6} {:>9}\n",
        "connections", "core", "accepted", "share", "open"
    );
    for c in split {
        let share = match total {
            0 => "-".to_string(),
            _ => format!("{:.0}%", c.accepted as f64 * 100.0 / total as f64),
        };
        let _ = writeln!(
            out,
            "{:<13} {:>4} {:>12} {:>6} {:>9}",
            "", c.core, c.accepted, share, c.open
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_cores_accepted_and_open_connections() {
        let text = "# TYPE coreline_http_connections_accepted_total counter\n\
            coreline_http_connections_accepted_total{core=\"1\"} 25\n\
            coreline_http_connections_accepted_total{core=\"0\"} 75\n\
            coreline_http_connections_accepted_total{core=\"all\"} 100\n\
            coreline_http_connections_open{core=\"0\"} 3\n\
            coreline_http_requests_total{core=\"0\"} 9\n\
            garbage\n";
        let split = split_from_prometheus(text);
        assert_eq!(
            split,
            [
                CoreSplit {
                    core: "0".into(),
                    accepted: 75,
                    open: 3
                },
                CoreSplit {
                    core: "1".into(),
                    accepted: 25,
                    open: 0
                },
            ]
        );
        let table = render_split(&split);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(
            lines[1].contains(" 75 ") && lines[1].contains("75%"),
            "{table}"
        );
        assert!(lines[2].contains("25%"), "{table}");
        assert!(render_split(&[]).lines().count() == 1);
    }
}
