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
    let bars: Vec<Bar> = ratios
        .iter()
        .map(|((s, peer), r)| Bar {
            group: s.clone(),
            series: format!("coreline/{}", peer.name()),
            value: r.headline_value(),
        })
        .collect();
    let chart = format!("{}-ratios.svg", a.out);
    if !bars.is_empty() {
        save(
            &chart,
            &bar_chart(
                "coreline ÷ peer, headline ratio per scenario (> 1: coreline better)",
                &bars,
            ),
        )?;
    }
    let mut plots = Vec::new();
    for ((s, k), runs) in &o.runs {
        if let Some(src) = median_plot(runs) {
            let name = format!("{}-latency-{s}-{}.svg", a.out, k.name());
            fs::copy(src, dir.join(&name)).map_err(|e| run(format!("{}: {e}", src.display())))?;
            plots.push((s.clone(), *k, name));
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
    let j = crate::report_json::to_json(a, cx, o, &summaries, &ratios);
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

/// coreline ÷ nginx and coreline ÷ hyper (and ÷ ceiling) per scenario, in scenario order.
fn ratios(a: &CompareArgs, sum: &BTreeMap<(String, Kind), Summary>) -> Ratios {
    let mut out = Ratios::new();
    for s in &a.scenarios {
        let Some(c) = sum.get(&(s.name.to_string(), Kind::Coreline)) else {
            continue;
        };
        for peer in [Kind::Nginx, Kind::Hyper, Kind::Ceiling] {
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
