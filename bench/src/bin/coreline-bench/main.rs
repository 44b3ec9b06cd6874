//! `coreline-bench`: coreline measured against nginx and hyper on the same machine, in the
//! same run (`compare`), and the criterion micro-benchmarks in one command (`micro`).
//!
//! ```text
//! coreline-bench compare [OPTIONS]      see `coreline-bench compare --help` and bench/README.md
//! coreline-bench micro [ARGS...]        cargo bench -p coreline-http [ARGS...]
//! ```
//!
//! `compare` starts coreline, nginx (config derived from `bench/nginx/nginx.conf`)
//! and the hyper peer pinned to the server CPUs, drives each scenario with `coreline-load`
//! (or `wrk`) pinned to the client CPUs, interleaved and repeated, and writes Markdown, JSON
//! and an SVG chart to `bench/results/`.

mod args;
mod compare;
mod disturbed;
mod fail;
mod host;
mod kinds;
mod load;
mod measure;
mod nginx;
mod paths;
mod procstat;
mod report;
mod report_json;
mod report_md;
mod scenarios;
mod servers;
mod session;
mod stats;
mod svg;

use std::process::{Command, ExitCode};

use clap::Parser;

use args::{CompareArgs, CompareFlags};
use fail::{setup, usage, Fail};

/// Every command's help starts with its usage line.
const HELP_TEMPLATE: &str = "usage: {usage}\n\n{about-with-newline}\n{all-args}{after-help}";

/// coreline measured against nginx and hyper, and the micro-benchmarks.
#[derive(Debug, Parser)]
#[command(
    name = "coreline-bench",
    version,
    color = clap::ColorChoice::Never,
    help_template = HELP_TEMPLATE
)]
enum Cli {
    /// coreline vs nginx vs hyper (compare --help for the options).
    #[command(help_template = HELP_TEMPLATE)]
    Compare(Box<CompareFlags>),
    /// The criterion micro-benchmarks (cargo bench -p coreline-http [ARGS...]).
    #[command(help_template = HELP_TEMPLATE)]
    Micro {
        /// Passed on to cargo bench.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv = std::iter::once("coreline-bench".to_string()).chain(args.iter().cloned());
    let result = match Cli::try_parse_from(argv) {
        Ok(Cli::Compare(flags)) => {
            CompareArgs::from_flags(*flags).and_then(|a| compare::compare(&a, command_line(&args)))
        }
        Ok(Cli::Micro { args }) => micro(&args),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Err(usage("a subcommand is needed: compare or micro"))
        }
        Err(e) => Err(args::clap_fail(&e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Help(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.code())
        }
    }
}

/// `coreline-bench micro`: runs the criterion benches of coreline-http (HTTP head parsing and
/// response encoding) from the workspace, passing any further arguments to cargo bench.
fn micro(extra: &[String]) -> Result<(), Fail> {
    let ws = paths::workspace();
    if !ws.join("Cargo.toml").is_file() {
        return Err(setup(format!(
            "the workspace {} is gone: run `cargo bench -p coreline-http` in a checkout",
            ws.display()
        )));
    }
    let status = Command::new("cargo")
        .args(["bench", "-p", "coreline-http", "--benches"])
        .args(extra)
        .current_dir(&ws)
        .status()
        .map_err(|e| {
            setup(format!(
                "cannot run cargo ({e}): run `cargo bench -p coreline-http` yourself"
            ))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(fail::run(format!(
            "`cargo bench -p coreline-http --benches` failed ({status})"
        )))
    }
}

/// The command line as the user could retype it (single-quoted where needed).
fn command_line(args: &[String]) -> String {
    let quote = |s: &String| {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./,=:".contains(c))
        {
            s.clone()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    std::iter::once("coreline-bench".to_string())
        .chain(args.iter().map(quote))
        .collect::<Vec<_>>()
        .join(" ")
}
