//! The report of a comparison: a Markdown file (header, results, ratios, plots, disturbed
//! runs), the same as JSON with every run, and the SVG chart of the headline ratios.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::args::CompareArgs;
use crate::fail::{run, Fail};
use crate::servers::Kind;
use crate::session::{Outcome, Run};

use crate::stats::{Ratio, Summary};
use crate::svg::{bar_chart, Bar};

/// What the report header states besides the options.
#[derive(Debug, Clone)]
pub struct Context {
    /// The exact command line.
    pub command: String,
    /// UTC date and time of the start.
    pub date: String,
    /// `uname -r`.
    pub kernel: String,
    /// `net.ipv4.tcp_congestion_control`: with BBR the kernel paces each loopback
    /// connection itself, at a CPU cost on the sending side.
    pub congestion_control: String,
    /// Online CPUs.
    pub cpus: usize,
    /// Tool versions (nginx, wrk, load tool).
    pub versions: BTreeMap<String, String>,
    /// Servers that ran, in report order.
    pub servers: Vec<Kind>,
    /// Notes from starting the servers.
    pub server_notes: Vec<String>,
}

/// The files written.
#[derive(Debug)]
pub struct Written {
    /// The Markdown report.
    pub markdown: PathBuf,
    /// The JSON report.
    pub json: PathBuf,
    /// The Markdown text (also printed).
    pub text: String,
}

/// Writes `NAME.md`, `NAME.json`, `NAME-ratios.svg` and the latency plots into `dir`.
pub fn write(dir: &Path, a: &CompareArgs, cx: &Context, o: &Outcome) -> Result<Written, Fail> {
    fs::create_dir_all(dir).map_err(|e| run(format!("{}: {e}", dir.display())))?;
    let save = |name: &str, text: &str| {
        let p = dir.join(name);
        fs::write(&p, text)
            .map_err(|e| run(format!("{}: {e}", p.display())))
            .map(|_| p)
    };
    let summaries: BTreeMap<(String, Kind), Summary> = o
        .runs
        .iter()
        .map(|(k, v)| (k.clone(), Summary::of(v)))
        .collect();
    let ratios = ratios(a, &summaries);
    let bars: Vec<Bar> = ratios_in_order(a, &ratios)
        .map(|((s, peer), r)| Bar {
            group: s.to_string(),
            series: format!("{}/{}", base_name(a), peer.name()),
            value: r.headline_value(),
        })
        .collect();
    let chart = format!("{}-ratios.svg", a.out);
    if !bars.is_empty() {
        save(
            &chart,
            &bar_chart(
                &format!(
                    "{0} ÷ peer, headline ratio per scenario (> 1: {0} better)",
                    base_name(a)
                ),
                &bars,
            ),
        )?;
    }
    let mut plots = Vec::new();
    for s in &a.scenarios {
        for k in Kind::ALL {
            let Some(src) = o
                .runs
                .get(&(s.name.to_string(), k))
                .and_then(|r| median_plot(r))
            else {
                continue;
            };
            let name = format!("{}-latency-{}-{}.svg", a.out, s.name, k.name());
            fs::copy(src, dir.join(&name)).map_err(|e| run(format!("{}: {e}", src.display())))?;
            plots.push((s.name.to_string(), k, name));
        }
    }
    let text = crate::report_md::markdown(
        a,
        cx,
        o,
        &summaries,
        &ratios,
        (!bars.is_empty()).then_some(chart.as_str()),
        &plots,
    );
    let markdown = save(&format!("{}.md", a.out), &text)?;
    let mut j = crate::report_json::to_json(a, cx, o, &summaries, &ratios);
    j["plots"] = serde_json::json!({
        "ratios": (!bars.is_empty()).then_some(&chart),
        "latency": plots
            .iter()
            .map(|(s, k, f)| (format!("{s}/{}", k.name()), serde_json::json!(f)))
            .collect::<serde_json::Map<_, _>>(),
    });
    let json = save(
        &format!("{}.json", a.out),
        &(serde_json::to_string_pretty(&j).unwrap_or_default() + "\n"),
    )?;
    Ok(Written {
        markdown,
        json,
        text,
    })
}

/// Ratios by (scenario, peer).
pub type Ratios = BTreeMap<(String, Kind), Ratio>;

/// The server the ratios divide: the first one in report order (coreline when it runs).
pub fn base_name(a: &CompareArgs) -> &'static str {
    a.servers.first().map_or("coreline", |k| k.name())
}

/// The other servers, each a peer of the ratios.
fn peers(a: &CompareArgs) -> &[Kind] {
    a.servers.get(1..).unwrap_or(&[])
}

/// The base server ÷ each peer per scenario (coreline ÷ nginx, coreline ÷ hyper, ...).
fn ratios(a: &CompareArgs, sum: &BTreeMap<(String, Kind), Summary>) -> Ratios {
    let mut out = Ratios::new();
    for s in &a.scenarios {
        let Some(c) = a
            .servers
            .first()
            .and_then(|b| sum.get(&(s.name.to_string(), *b)))
        else {
            continue;
        };
        for &peer in peers(a) {
            if let Some(p) = sum.get(&(s.name.to_string(), peer)) {
                out.insert((s.name.to_string(), peer), Ratio::of(c, p));
            }
        }
    }
    out
}

/// The plot of the run whose req/s is the median one.
fn median_plot(runs: &[Run]) -> Option<&Path> {
    let mut with: Vec<&Run> = runs.iter().filter(|r| r.plot.is_some()).collect();
    with.sort_by(|x, y| {
        x.m.load
            .requests_per_sec
            .total_cmp(&y.m.load.requests_per_sec)
    });
    with.get(with.len() / 2).and_then(|r| r.plot.as_deref())
}

/// The ratios in scenario run order, peers in report order.
pub fn ratios_in_order<'a>(
    a: &'a CompareArgs,
    ratios: &'a Ratios,
) -> impl Iterator<Item = ((&'a str, Kind), &'a Ratio)> + 'a {
    a.scenarios.iter().flat_map(move |s| {
        peers(a).iter().filter_map(move |&k| {
            ratios
                .get(&(s.name.to_string(), k))
                .map(|r| ((s.name, k), r))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Measured;
    use coreline_bench::{LatencyUs, LoadSummary};

    fn run(rps: f64, cpu_s: f64, server_pct: f64, client_pct: f64) -> Run {
        let load = LoadSummary {
            requests: rps as u64,
            bytes: rps as u64 * 65536,
            requests_per_sec: rps,
            bytes_per_sec: rps * 65536.0,
            latency_us: LatencyUs {
                mean: 100.0,
                p50: 100.0,
                p90: 100.0,
                p99: 100.0,
                p99_9: 100.0,
                p99_99: 100.0,
                max: 100.0,
            },
            ..LoadSummary::default()
        };
        let m = Measured {
            load,
            wall_s: 1.0,
            server_cpu_s: cpu_s,
            server_core_pct: server_pct,
            client_core_pct: client_pct,
            ..Measured::default()
        };
        Run {
            rep: 1,
            attempt: 1,
            busy_before_pct: 0.0,
            m,
            disturbed: None,
            command: "x".into(),
            plot: None,
        }
    }

    #[test]
    fn report_has_rows_ratios_in_run_order_and_skips_grouped() {
        let args: Vec<String> = ["--scenarios", "plain64,file64k", "--out", "t"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let a = CompareArgs::parse(&args).unwrap();
        let mut o = Outcome::default();
        for (s, k, r) in [
            ("plain64", Kind::Coreline, run(1000.0, 0.5, 50.0, 99.0)),
            ("plain64", Kind::Nginx, run(1000.0, 1.0, 60.0, 99.0)),
            ("file64k", Kind::Coreline, run(500.0, 1.0, 99.0, 80.0)),
            ("file64k", Kind::Nginx, run(400.0, 1.0, 99.0, 70.0)),
        ] {
            o.runs.insert((s.into(), k), vec![r]);
        }
        o.skipped.insert(
            ("file64k".into(), Kind::Hyper),
            "hyper-peer serves no files".into(),
        );
        let cx = Context {
            command: "coreline-bench compare".into(),
            date: "d".into(),
            kernel: "k".into(),
            congestion_control: "cubic".into(),
            cpus: 2,
            versions: BTreeMap::new(),
            servers: vec![Kind::Coreline, Kind::Nginx, Kind::Hyper],
            server_notes: vec![],
        };
        let dir =
            std::env::temp_dir().join(format!("coreline-bench-report-{}", std::process::id()));
        let w = write(&dir, &a, &cx, &o).unwrap();
        let md = &w.text;
        assert!(
            md.contains("| plain64 | coreline | 1000 |")
                && md.contains("| file64k | nginx | 400 |"),
            "{md}"
        );
        assert!(
            md.contains("- skipped for hyper: `file64k` (hyper-peer serves no files)"),
            "{md}"
        );
        // plain64: client-bound, so CPU per request leads (2.00×); file64k: both servers bound, req/s (1.25×).
        let p = md
            .find(
                "| plain64 | coreline/nginx | 1.00× | 2.00× | 1.00× | **2.00×** (req per CPU-s) |",
            )
            .expect(md);
        let f = md
            .find("| file64k | coreline/nginx | 1.25× | 1.25× | 1.00× | **1.25×** (req/s) |")
            .expect(md);
        assert!(p < f);
        assert!(
            md.contains("| file64k | coreline | 0.03 | 30.518 |"),
            "{md}"
        );
        let svg = fs::read_to_string(dir.join("t-ratios.svg")).unwrap();
        assert!(svg.find(">plain64<").unwrap() < svg.find(">file64k<").unwrap());
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&w.json).unwrap()).unwrap();
        assert_eq!(
            json["ratios"]["file64k/coreline/nginx"]["headline"],
            "req/s"
        );
        assert_eq!(json["runs"]["plain64/nginx"][0]["requests"], 1000);
        fs::remove_dir_all(&dir).unwrap();
    }
}
