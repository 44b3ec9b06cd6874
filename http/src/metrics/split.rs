//! The per-core split of connections, read back from Prometheus text: how many each core
//! accepted and holds open, which shows how evenly the listeners share new connections
//! (see `ListenerMode`), and in `steered` mode how many it took over from a lagging
//! core's queue and how many it handed to another core while it lagged. Printed by
//! `coreline stats` under the latency table.

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
    /// Of the accepted ones, those taken from a lagging core's queue.
    pub taken_over: u64,
    /// Connections accepted while this core lagged and handed to another core (which
    /// counts them as accepted).
    pub handed_off: u64,
}

const ACCEPTED: &str = "coreline_http_connections_accepted_total";
const OPEN: &str = "coreline_http_connections_open";
const TAKEN_OVER: &str = "coreline_http_connections_taken_over_total";
const HANDED_OFF: &str = "coreline_http_connections_handed_off_total";

/// Each numbered core's accepted, open, taken-over and handed-off connections in `text`,
/// in core order; lines that are not those families (or malformed) are skipped.
pub fn split_from_prometheus(text: &str) -> Vec<CoreSplit> {
    let mut cores: BTreeMap<usize, CoreSplit> = BTreeMap::new();
    for line in text.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((name, labels)) = series.split_once('{') else {
            continue;
        };
        if ![ACCEPTED, OPEN, TAKEN_OVER, HANDED_OFF].contains(&name) {
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
            taken_over: 0,
            handed_off: 0,
        });
        let field = match name {
            ACCEPTED => &mut entry.accepted,
            OPEN => &mut entry.open,
            TAKEN_OVER => &mut entry.taken_over,
            _ => &mut entry.handed_off,
        };
        *field = value as u64;
    }
    cores.into_values().collect()
}

/// The split as a small table: each core's accepted connections (and share of all),
/// open ones, those taken over from a lagging core and those handed off while lagging.
pub fn render_split(split: &[CoreSplit]) -> String {
    let total: u64 = split.iter().map(|c| c.accepted).sum();
    let mut out = format!(
        "{:<13} {:>4} {:>12} {:>6} {:>9} {:>11} {:>11}\n",
        "connections", "core", "accepted", "share", "open", "taken over", "handed off"
    );
    for c in split {
        let share = match total {
            0 => "-".to_string(),
            _ => format!("{:.0}%", c.accepted as f64 * 100.0 / total as f64),
        };
        let _ = writeln!(
            out,
            "{:<13} {:>4} {:>12} {:>6} {:>9} {:>11} {:>11}",
            "", c.core, c.accepted, share, c.open, c.taken_over, c.handed_off
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
            coreline_http_connections_taken_over_total{core=\"1\"} 7\n\
            coreline_http_connections_handed_off_total{core=\"0\"} 2\n\
            coreline_http_requests_total{core=\"0\"} 9\n\
            garbage\n";
        let split = split_from_prometheus(text);
        assert_eq!(
            split,
            [
                CoreSplit {
                    core: "0".into(),
                    accepted: 75,
                    open: 3,
                    taken_over: 0,
                    handed_off: 2,
                },
                CoreSplit {
                    core: "1".into(),
                    accepted: 25,
                    open: 0,
                    taken_over: 7,
                    handed_off: 0,
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
        assert!(lines[0].contains("taken over") && lines[0].contains("handed off"));
        assert!(lines[1].trim_end().ends_with(" 0           2"), "{table}");
        assert!(lines[2].trim_end().ends_with(" 7           0"), "{table}");
        assert!(render_split(&[]).lines().count() == 1);
    }
}
