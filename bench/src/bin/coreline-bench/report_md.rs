//! The Markdown report (see bench/README.md for every column).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::args::CompareArgs;
use crate::report::{Context, Ratios};
use crate::scenarios::{Scenario, Target};
use crate::servers::Kind;
use crate::session::Outcome;
use crate::stats::Summary;

fn cpus(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

fn ordered<'a>(o: &'a Outcome, s: &'a Scenario) -> impl Iterator<Item = Kind> + 'a {
    Kind::ALL
        .into_iter()
        .filter(move |k| o.runs.contains_key(&(s.name.to_string(), *k)))
}

/// The Markdown report: header (command, date, kernel, versions, method, scenarios, rates,
/// notes, skips), the results table, GB/s for files, the ratios, the chart and plots, and the
/// runs still disturbed.
pub fn markdown(
    a: &CompareArgs,
    cx: &Context,
    o: &Outcome,
    sum: &BTreeMap<(String, Kind), Summary>,
    ratios: &Ratios,
    chart: Option<&str>,
    plots: &[(String, Kind, String)],
) -> String {
    let mut m = String::new();
    let names: Vec<&str> = cx.servers.iter().map(|k| k.name()).collect();
    let _ = writeln!(
        m,
        "# {} on CPU {}, load on CPU {}{}\n",
        names.join(" vs "),
        cpus(&a.server_cpus),
        cpus(&a.client_cpus),
        if a.load_shares_server_cpu {
            " (load shares a server CPU)"
        } else {
            ""
        }
    );
    let _ = writeln!(m, "- command: `{}`", cx.command);
    let _ = writeln!(
        m,
        "- date: {}; kernel {}; {} CPUs; TCP congestion control {}{}",
        cx.date,
        cx.kernel,
        cx.cpus,
        cx.congestion_control,
        // `coreline serve`'s default `--congestion-control auto` on its loopback listeners.
        if cx.congestion_control.starts_with("bbr") {
            " (coreline's connections: reno, its default on loopback listeners; \
             coreline-kernel-cc's: the kernel's)"
        } else {
            ""
        }
    );
    let v: Vec<String> = cx
        .versions
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let _ = writeln!(m, "- versions: {}", v.join("; "));
    let _ = writeln!(
        m,
        "- {} s per run, medians of {} interleaved repeat(s) (repeat → scenario → server; closed-loop scenarios first, then open-loop){}; load: `{}` under `taskset -c {}`",
        a.duration, a.repeats, if a.quick { ", **--quick** (not for quoting)" } else { "" }, a.load.name(), cpus(&a.client_cpus)
    );
    let _ = writeln!(m, "- server CPU from /proc/PID/stat utime+stime (nginx: its workers), also apart: user (utime) and kernel (stime) µs per request; core shares from /proc/stat; RSS = VmRSS at the end of the run");
    let _ = writeln!(
        m,
        "- scenarios: {}",
        a.scenarios
            .iter()
            .map(Scenario::describe)
            .collect::<Vec<_>>()
            .join("; ")
    );
    if let Some((cap, from)) = &o.capacity {
        let r: Vec<String> = o
            .rates
            .iter()
            .map(|(s, r)| format!("`{s}` {r:.0} req/s"))
            .collect();
        let _ = writeln!(
            m,
            "- open-loop rates: {} (nginx capacity {cap:.0} req/s: {from})",
            r.join(", ")
        );
    }
    if a.load_shares_server_cpu {
        let _ = writeln!(m, "- **load shares a server CPU** (`--allow-overlap`): the load generator's CPU time competes with the servers' on CPU {}, so req/s and latency are lower than with the load apart; the servers' CPU per request is still their own", cpus(&a.client_cpus));
    }
    for n in cx.server_notes.iter().chain(&o.notes) {
        let _ = writeln!(m, "- note: {n}");
    }
    // One line per (server, reason), naming its scenarios in run order.
    let mut grouped: Vec<(Kind, &str, Vec<&str>)> = Vec::new();
    for s in &a.scenarios {
        for k in Kind::ALL {
            let Some(why) = o.skipped.get(&(s.name.to_string(), k)) else {
                continue;
            };
            match grouped
                .iter_mut()
                .find(|(gk, gw, _)| *gk == k && *gw == why)
            {
                Some(g) => g.2.push(s.name),
                None => grouped.push((k, why, vec![s.name])),
            }
        }
    }
    for (k, why, names) in grouped {
        let _ = writeln!(
            m,
            "- skipped for {}: `{}` ({why})",
            k.name(),
            names.join("`, `")
        );
    }
    for ((s, k), why) in &o.failed {
        let _ = writeln!(m, "- **failed** `{s}` for {}: {why}", k.name());
    }
    m += "\n| scenario | server | req/s | req/s min–max | MB/s | p50 µs | p99 µs | p99.9 µs | server CPU-µs/req | user µs/req | kernel µs/req | req per server CPU-s | server core % | client core % | limit | RSS MiB | errors |\n";
    m += "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n";
    for s in &a.scenarios {
        for k in ordered(o, s) {
            let x = &sum[&(s.name.to_string(), k)];
            let limit = limit_cell(x, o.rates.get(s.name).copied());
            let shares = if a.load_shares_server_cpu {
                " (load shares a server CPU)"
            } else {
                ""
            };
            let _ = writeln!(
                m,
                "| {} | {}{shares} | {:.0} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {:.3} | {:.0} | {:.1} | {:.1} | {} | {:.1} | {} |",
                s.name, k.name(), x.rps, spread(x), x.bytes_per_sec / 1e6, x.lat("p50"), x.lat("p99"), x.lat("p99.9"),
                x.cpu_us_per_req, x.user_us_per_req, x.sys_us_per_req, x.req_per_cpu_s, x.server_core_pct, x.client_core_pct, limit, x.rss_kib / 1024.0, errors(&x.errors)
            );
        }
    }
    let bimodal: Vec<String> = a
        .scenarios
        .iter()
        .flat_map(|s| ordered(o, s).map(move |k| (s.name, k)))
        .filter(|(s, k)| sum[&(s.to_string(), *k)].bimodal())
        .map(|(s, k)| format!("`{s}` {}", k.name()))
        .collect();
    if !bimodal.is_empty() {
        let _ = writeln!(
            m,
            "\n**Bimodal** (fastest repeat more than {}× the slowest: the median hides two modes): {}",
            crate::stats::BIMODAL_RATIO,
            bimodal.join(", ")
        );
    }
    let files: Vec<(&Scenario, u64)> = a
        .scenarios
        .iter()
        .filter_map(|s| match s.target {
            Target::File(size) => Some((s, size)),
            _ => None,
        })
        .collect();
    if !files.is_empty() {
        m += "\n| scenario | server | GB/s | server CPU-s per GB |\n|---|---|---:|---:|\n";
        for (s, size) in files {
            for k in ordered(o, s) {
                let x = &sum[&(s.name.to_string(), k)];
                let _ = writeln!(
                    m,
                    "| {} | {} | {:.2} | {:.3} |",
                    s.name,
                    k.name(),
                    x.bytes_per_sec / 1e9,
                    x.cpu_us_per_req / size as f64 * 1e3
                );
            }
        }
    }
    if !ratios.is_empty() {
        let base = crate::report::base_name(a);
        let _ = write!(m, "\n| scenario | ratio | req/s | req per server CPU-s | p99 (< 1: {base} faster) | headline |\n|---|---|---:|---:|---:|---|\n");
        for ((s, peer), r) in crate::report::ratios_in_order(a, ratios) {
            let _ = writeln!(
                m,
                "| {s} | {base}/{} | {:.2}× | {:.2}× | {:.2}× | **{:.2}×** ({}) |",
                peer.name(),
                r.rps,
                r.req_per_cpu_s,
                r.p99,
                r.headline_value(),
                r.headline
            );
        }
    }
    if let Some(c) = chart {
        let _ = writeln!(m, "\n![headline ratios]({c})");
    }
    if !plots.is_empty() {
        m += "\nLatency percentile spectra drawn by coreline-load (the median run of each):\n\n";
        for (s, k, f) in plots {
            let _ = writeln!(m, "- [{s} {}]({f})", k.name());
        }
    }
    let noisy: Vec<String> = o
        .runs
        .iter()
        .flat_map(|((s, k), runs)| {
            runs.iter().filter_map(move |r| {
                r.disturbed
                    .as_ref()
                    .map(|w| format!("- rep {} {s} {}: {w}", r.rep, k.name()))
            })
        })
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(
            m,
            "\nRuns still disturbed after every retry (rerun on a quiet machine):\n\n{}",
            noisy.join("\n")
        );
    }
    m
}

/// The req/s spread across repeats, `min–max`, with `**bimodal**` when it exceeds
/// [`crate::stats::BIMODAL_RATIO`].
fn spread(x: &Summary) -> String {
    let range = format!("{:.0}–{:.0}", x.rps_min, x.rps_max);
    if x.bimodal() {
        format!("{range} **bimodal**")
    } else {
        range
    }
}

fn errors(e: &BTreeMap<String, u64>) -> String {
    let v: Vec<String> = e
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join(", ")
    }
}

/// The limit column: closed loop, the saturated side; open loop, `open loop` when the rate
/// was served (≥ 95 % of it), else `rate missed (N %)` and the saturated side, if any.
fn limit_cell(x: &Summary, rate: Option<f64>) -> String {
    match rate {
        None => x.limit.to_string(),
        Some(r) if x.rps >= 0.95 * r => "open loop".into(),
        Some(r) => format!("rate missed ({:.0} %), {}", 100.0 * x.rps / r, x.limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_loop_runs_that_fall_behind_say_so() {
        let x = Summary {
            rps: 900.0,
            limit: "server",
            ..Summary::default()
        };
        assert_eq!(limit_cell(&x, None), "server");
        assert_eq!(limit_cell(&x, Some(920.0)), "open loop");
        assert_eq!(limit_cell(&x, Some(1800.0)), "rate missed (50 %), server");
    }

    #[test]
    fn spread_flags_repeats_far_apart() {
        let x = |min, max| Summary {
            rps_min: min,
            rps_max: max,
            ..Summary::default()
        };
        assert_eq!(spread(&x(7300.0, 7600.0)), "7300–7600");
        assert_eq!(spread(&x(1928.0, 7693.0)), "1928–7693 **bimodal**");
    }
}
