//! Every figure quoted in `README.md`, `bench/README.md` and `kernel-tuning/README.md` is
//! in the results file it cites.
//!
//! **Blocks.** A README is read as blocks: a paragraph, a list item or one table data row. Fenced code, headings, table header and separator rows, code spans (`` `…` ``:
//! commands, flags, names), link targets and HTML comments are never read for numbers.
//!
//! **Citations.** A block cites the results files it links to itself (a link whose target
//! contains `results/` and ends in `.md`, `.json` or `.txt`: `bench/results/*`,
//! `kernel-tuning/experiments/results/*`). A block that links none cites the files of the
//! marker in force: `<!-- figures: PATH [PATH…] -->` on a line of its own (paths from the
//! workspace root), in force until the next heading (any level) or the next marker;
//! `<!-- figures: none -->` ends it early. A cited file that does not exist fails the test.
//!
//! **Checked numbers.** In a block that cites files:
//! - in prose and in a row's first cell (the row's label), the figure-shaped numbers: with a
//!   thousands separator (`415,439`), with decimals (`0.86`), with a scale (`962 K`, `2.27 M`,
//!   `4.15 G`), or followed by `×`, `x`, `%`, `ms`, `µs`, `us`, `ns` or `req/s` (also the first
//!   number of a range such as `98–99 %`);
//! - in the other cells of a row, every number of a cell that holds only numbers and units
//!   (`227,734`, `3.61 / 3.94 / 4.13`, `0.04 ms`, `0 (0)`); a cell with words is read as prose.
//!
//! Numbers glued to a word (`v769`, `face029`, `plain64`) and dotted ones (`127.0.0.1`,
//! `6.18.44`) are not numbers; a number after `<`, `>`, `≤` or `≥` is a bound (a test's
//! threshold), not a figure, and is not checked. Bare integers in
//! prose (`64 connections`, `10 s`, `16 KiB`, a port, a flag value) are not checked: limits and
//! settings are not measurements, so a section with measured integers puts them in a table or
//! gives them a unit.
//!
//! **Matching.** A checked number passes when some number of a cited file (any number in
//! it, thousands separators removed), divided by the scale and rounded to the decimals the
//! README writes, equals it: `9.59` matches `9.592`, `120` matches `120.090`, `962 K` matches
//! `962,096`. After `≈` or `~` an integer's trailing zeros are not significant (`≈ 2,800`
//! matches `2,827`); a time in µs matches the same time in ms in the file and the other way
//! round (`20 µs` matches `0.02 ms`). So a README may round a file's figure but not change it.
//!
//! **Uncited figures.** A block that cites nothing may not hold a measurement-shaped number:
//! decimals followed by `×`, `x`, `%`, `ms`, `µs`, `us` or `ns` (`1.13×`, `8.2 %`, `0.57 µs`).
//! Every README section with figures therefore carries a citation.

mod figures_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use figures_support::markdown::{blocks, Block};
use figures_support::numbers::{all_values, figure_shaped, is_numeric_cell, Quoted};

const READMES: [&str; 3] = ["README.md", "bench/README.md", "kernel-tuning/README.md"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The numbers a block quotes, by the rules above.
fn checked_numbers(block: &Block) -> Vec<Quoted> {
    if !block.is_row {
        return figure_shaped(&block.text);
    }
    let cells: Vec<&str> = block.text.trim().trim_matches('|').split('|').collect();
    let mut out = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 && is_numeric_cell(cell) {
            out.extend(figures_support::numbers::all_quoted(cell));
        } else {
            out.extend(figure_shaped(cell));
        }
    }
    out
}

/// What the check found in one README.
struct Report {
    checked: usize,
    problems: Vec<String>,
}

/// Checks `text`, a README at `dir`, against the files it cites.
fn check(name: &str, text: &str, dir: &Path, root: &Path) -> Report {
    let mut files: HashMap<PathBuf, Vec<f64>> = HashMap::new();
    let mut report = Report {
        checked: 0,
        problems: Vec::new(),
    };
    let blocks = match blocks(text, dir, root) {
        Ok(b) => b,
        Err(e) => {
            report.problems.push(format!("{name}: {e}"));
            return report;
        }
    };
    for block in &blocks {
        let numbers = checked_numbers(block);
        if block.cites.is_empty() {
            for q in numbers.iter().filter(|q| q.is_measurement()) {
                report.problems.push(format!(
                    "{name}:{}: `{}` is a measurement in a block that cites no results file",
                    block.line, q.text
                ));
            }
            continue;
        }
        let mut values = Vec::new();
        for path in &block.cites {
            let file = files
                .entry(path.clone())
                .or_insert_with(|| all_values(&std::fs::read_to_string(path).unwrap_or_default()));
            values.extend_from_slice(file);
        }
        for q in numbers.into_iter().filter(|q| !q.bound) {
            report.checked += 1;
            if !q.found_in(&values) {
                let cited: Vec<_> = block
                    .cites
                    .iter()
                    .map(|p| p.strip_prefix(root).unwrap_or(p))
                    .collect();
                report.problems.push(format!(
                    "{name}:{}: `{}` is in none of {cited:?}",
                    block.line, q.text
                ));
            }
        }
    }
    report
}

#[test]
fn every_quoted_figure_is_in_the_results_file_it_cites() {
    let root = workspace_root();
    let mut problems = Vec::new();
    for name in READMES {
        let path = root.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let report = check(name, &text, path.parent().unwrap(), &root);
        if report.checked <= 20 {
            problems.push(format!("{name}: only {} figures checked", report.checked));
        }
        problems.extend(report.problems);
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A README fragment checked against `bench/results/http.md`.
fn check_fragment(fragment: &str) -> Vec<String> {
    let root = workspace_root();
    check("fragment", fragment, &root, &root).problems
}

#[test]
fn a_changed_figure_fails_and_a_rounded_one_passes() {
    let marked = "<!-- figures: bench/results/http.md -->\n\n";
    assert!(check_fragment(&format!(
        "{marked}coreline 227,734 req/s, 4.04 µs per request, 1.04×.\n"
    ))
    .is_empty());
    let changed = check_fragment(&format!("{marked}coreline 227,735 req/s.\n"));
    assert_eq!(changed.len(), 1, "{changed:?}");
    // A row of another run than the cited file holds (01:06 instead of 01:25).
    let row = "| plain64 | coreline | 224,238 | 242,834 | 4.118 |\n";
    assert_eq!(check_fragment(&format!("{marked}{row}")).len(), 3);
    // A link in the block cites that file instead of the marker's.
    let linked = "1,748,578 req/s ([compare](bench/results/compare.md))\n";
    assert_eq!(check_fragment(&format!("{marked}{linked}")).len(), 1);
}

#[test]
fn settings_are_not_figures_and_uncited_ratios_fail() {
    let prose = "64 connections, 16 KiB heads, `--backlog 4096`, commit 06dea6f, kernel v769, 10 s";
    assert!(
        figure_shaped(prose).is_empty(),
        "{:?}",
        figure_shaped(prose)
    );
    let shaped: Vec<String> = figure_shaped("1,642,649 req/s, 0.61 µs, 98–99 %, 4.15 G, 2x")
        .into_iter()
        .map(|q| q.text)
        .collect();
    assert_eq!(shaped, ["1,642,649", "0.61", "98", "99", "4.15", "2"]);
    assert_eq!(check_fragment("1.13× nginx's req/s.\n").len(), 1);
    assert!(check_fragment(
        "<!-- figures: bench/results/http.md -->\n<!-- figures: none -->\n64 connections.\n"
    )
    .is_empty());
}
