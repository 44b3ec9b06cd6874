//! Command-line options of `coreline-bench compare` (clap), each with the default the README
//! documents, and the checks that involve several of them.

use std::path::PathBuf;

use clap::Parser;
use coreline_runtime::Cores;

use crate::fail::{usage, Fail};
use crate::scenarios::{self, Scenario};
use crate::servers::Kind;

/// Which tool generates the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadTool {
    /// `coreline-load` from this crate: closed and open loop, TLS resumption, p99.9.
    #[value(name = "coreline-load")]
    CorelineLoad,
    /// `wrk`: closed loop only, full TLS handshakes only; a cross-check.
    Wrk,
}

impl LoadTool {
    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            LoadTool::CorelineLoad => "coreline-load",
            LoadTool::Wrk => "wrk",
        }
    }
}

/// Everything `compare` was asked to do.
#[derive(Debug, Clone)]
pub struct CompareArgs {
    /// Servers in report order.
    pub servers: Vec<Kind>,
    /// Scenarios in run order (closed-loop first, then open-loop).
    pub scenarios: Vec<Scenario>,
    /// Seconds per load run.
    pub duration: u64,
    /// Interleaved repeats; medians are reported.
    pub repeats: usize,
    /// CPUs of the servers.
    pub server_cpus: Vec<usize>,
    /// CPUs of the load generator.
    pub client_cpus: Vec<usize>,
    /// The load generator runs on a server CPU (`--allow-overlap`): the report says so.
    pub load_shares_server_cpu: bool,
    /// CPUs of the proxy scenarios' upstream coreline.
    pub upstream_cpus: Vec<usize>,
    /// The load generator.
    pub load: LoadTool,
    /// First port: server i listens on `port_base + 2i` (plain) and `+ 2i + 1` (TLS).
    pub port_base: u16,
    /// Seconds to wait for quiet CPUs before each run (0: no wait).
    pub quiet_wait: f64,
    /// Times a disturbed run is redone.
    pub retries: usize,
    /// Report name: `OUT.md`, `OUT.json`, `OUT-*.svg`.
    pub out: String,
    /// Where reports go (default `bench/results/` of the workspace).
    pub results_dir: Option<PathBuf>,
    /// Where the server and load binaries are (default: next to this executable).
    pub bin_dir: Option<PathBuf>,
    /// Do not run `cargo build` for the binaries; use what is in `bin_dir`.
    pub no_build: bool,
    /// The nginx config to derive from (default `bench/nginx/nginx.conf`).
    pub nginx_conf: Option<PathBuf>,
    /// Every scenario briefly: 1 s, 1 repeat, no quiet wait, no warm-up, ≤ 128 connections.
    pub quick: bool,
}

/// `compare`'s flags as given (`None`: not given; `--quick` changes those defaults).
#[derive(Debug, Parser)]
#[command(
    name = "coreline-bench compare",
    version,
    about = "coreline vs nginx vs hyper on this machine, interleaved and repeated.",
    color = clap::ColorChoice::Never,
    args_override_self = true,
    help_template = "usage: {usage}\n\n{about-with-newline}\n{all-args}{after-help}"
)]
pub struct CompareFlags {
    /// coreline,nginx,hyper[,ceiling]; coreline variants: coreline-metrics, coreline-rxts
    /// (latency metrics on), coreline-access-log (a combined line per response to a file
    /// in the run's temporary directory), coreline-splice, coreline-read, coreline-send-zc (one
    /// file-body method at every size), coreline-steered, coreline-shared (a listener
    /// mode), coreline-kernel-cc (the kernel's congestion control on its loopback listener,
    /// not reno); axum-coreline and axum-tokio: the axum example's router on coreline /
    /// axum::serve [default: coreline,nginx,hyper]
    #[arg(long, value_name = "LIST", value_parser = |v: &str| parse_servers(v).map_err(message))]
    servers: Option<::std::vec::Vec<Kind>>,
    /// plain64,plain1024,pipelined16,close,file64k,file1m,tls,tls-handshake,tls-resume,
    /// open50,open90, and fileN / fileNk / fileNm: a file of N bytes / KiB / MiB;
    /// axum-json, axum-user: the axum servers' JSON routes; proxy64, proxy1m: through the
    /// server to an upstream coreline [default: these but the axum and proxy ones]
    #[arg(long, value_name = "LIST",
          value_parser = |v: &str| scenarios::parse(v).map_err(message))]
    scenarios: Option<::std::vec::Vec<Scenario>>,
    /// Seconds per run [default: 10; 1 with --quick]
    #[arg(long, value_name = "SECS", value_parser = at_least::<1>)]
    duration: Option<u64>,
    /// Interleaved repeats, medians reported [default: 3; 1 with --quick]
    #[arg(long, value_name = "N", value_parser = at_least::<1>)]
    repeats: Option<u64>,
    /// CPUs of the servers
    #[arg(long, value_name = "LIST", value_parser = cpu_list, default_value = "0")]
    server_cpus: ::std::vec::Vec<usize>,
    /// CPUs of the load generator
    #[arg(long, value_name = "LIST", value_parser = cpu_list, default_value = "1")]
    client_cpus: ::std::vec::Vec<usize>,
    /// Let --client-cpus overlap --server-cpus (the report is marked "load shares a server
    /// CPU": the load's CPU time competes with the servers')
    #[arg(long)]
    allow_overlap: bool,
    /// CPUs of the upstream coreline of proxy64 and proxy1m (not measured) [default: the
    /// client CPUs]
    #[arg(long, value_name = "LIST", value_parser = cpu_list)]
    upstream_cpus: Option<::std::vec::Vec<usize>>,
    /// The load generator: coreline-load, or wrk (closed loop only)
    #[arg(long, value_name = "TOOL", value_enum, default_value = "coreline-load")]
    load: LoadTool,
    /// Server i on PORT+2i, TLS on PORT+2i+1 (1024..65000)
    #[arg(long, value_name = "PORT", value_parser = port_base, default_value = "27180")]
    port_base: u16,
    /// Wait for idle CPUs before each run [default: 30; 0 with --quick]
    #[arg(long, value_name = "SECS", value_parser = quiet_wait)]
    quiet_wait: Option<f64>,
    /// Redo a disturbed run up to N times
    #[arg(long, value_name = "N", value_parser = at_least::<0>, default_value = "2")]
    retries: u64,
    /// The report's name: NAME.md, NAME.json, NAME-*.svg
    #[arg(long, value_name = "NAME", value_parser = out_name, default_value = "compare")]
    out: String,
    /// Where the report goes [default: bench/results]
    #[arg(long, value_name = "DIR")]
    results_dir: Option<PathBuf>,
    /// Where coreline, hyper-peer and coreline-load are [default: beside this binary]
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Do not cargo-build the binaries first
    #[arg(long)]
    no_build: bool,
    /// Reference nginx config [default: bench/nginx/nginx.conf]
    #[arg(long, value_name = "FILE")]
    nginx_conf: Option<PathBuf>,
    /// Every scenario briefly: 1 s, 1 repeat, no waits, <= 128 connections
    #[arg(long)]
    quick: bool,
}

impl CompareArgs {
    /// Parses the arguments after `compare`.
    #[cfg(test)]
    pub fn parse(args: &[String]) -> Result<CompareArgs, Fail> {
        let argv = std::iter::once("compare".to_string()).chain(args.iter().cloned());
        match CompareFlags::try_parse_from(argv) {
            Ok(flags) => CompareArgs::from_flags(flags),
            Err(e) => Err(clap_fail(&e)),
        }
    }

    /// Applies the defaults (`--quick`'s where it is given; explicit flags still win) and
    /// checks the combination.
    pub fn from_flags(f: CompareFlags) -> Result<CompareArgs, Fail> {
        let mut scenarios = f.scenarios.unwrap_or_else(scenarios::defaults);
        if f.quick {
            for s in &mut scenarios {
                s.connections = s.connections.min(128);
            }
        }
        let load_shares_server_cpu = crate::measure::shares_cpu(&f.server_cpus, &f.client_cpus);
        if load_shares_server_cpu && !f.allow_overlap {
            return Err(usage(
                "--server-cpus and --client-cpus must not overlap (or give --allow-overlap)",
            ));
        }
        if f.upstream_cpus
            .as_ref()
            .is_some_and(|u| u.iter().any(|c| f.server_cpus.contains(c)))
        {
            return Err(usage("--server-cpus and --upstream-cpus must not overlap"));
        }
        Ok(CompareArgs {
            servers: f
                .servers
                .unwrap_or_else(|| vec![Kind::Coreline, Kind::Nginx, Kind::Hyper]),
            scenarios,
            duration: f.duration.unwrap_or(if f.quick { 1 } else { 10 }),
            repeats: f.repeats.unwrap_or(if f.quick { 1 } else { 3 }) as usize,
            server_cpus: f.server_cpus,
            upstream_cpus: f.upstream_cpus.unwrap_or_else(|| f.client_cpus.clone()),
            client_cpus: f.client_cpus,
            load_shares_server_cpu,
            load: f.load,
            port_base: f.port_base,
            quiet_wait: f.quiet_wait.unwrap_or(if f.quick { 0.0 } else { 30.0 }),
            retries: f.retries as usize,
            out: f.out,
            results_dir: f.results_dir,
            bin_dir: f.bin_dir,
            no_build: f.no_build,
            nginx_conf: f.nginx_conf,
            quick: f.quick,
        })
    }
}

/// Help and version as [`Fail::Help`], every other clap error as one [`Fail::Usage`] line.
pub fn clap_fail(e: &clap::Error) -> Fail {
    use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
    let text = e.render().to_string();
    if matches!(e.kind(), DisplayHelp | DisplayVersion) {
        return Fail::Help(text);
    }
    let first = text.lines().take_while(|l| !l.trim().is_empty());
    let joined = first.map(str::trim).collect::<Vec<_>>().join(" ");
    usage(joined.trim_start_matches("error: "))
}

/// The message of a [`Fail`] made by a parser (for clap to put after the flag's name).
fn message(f: Fail) -> String {
    match f {
        Fail::Usage(m) | Fail::Setup(m) | Fail::Run(m) | Fail::Help(m) => m,
    }
}

fn at_least<const MIN: u64>(value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= MIN)
        .ok_or_else(|| format!("takes a whole number >= {MIN}"))
}

fn port_base(value: &str) -> Result<u16, String> {
    value
        .parse()
        .ok()
        .filter(|p| (1024..65000).contains(p))
        .ok_or_else(|| "takes a port in 1024..65000".to_string())
}

fn quiet_wait(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| *s >= 0.0)
        .ok_or_else(|| "takes seconds >= 0".to_string())
}

fn out_name(value: &str) -> Result<String, String> {
    if value.is_empty() || value.contains('/') {
        return Err("takes a file name without '/'".into());
    }
    Ok(value.to_string())
}

/// A CPU list of CPUs this machine has, sorted, each once.
fn cpu_list(value: &str) -> Result<Vec<usize>, String> {
    let mut cpus = match Cores::parse_list(value) {
        Ok(Cores::List(cpus)) if !cpus.is_empty() => cpus,
        _ => return Err("takes a CPU list such as 0, 0,1 or 0-3".into()),
    };
    cpus.sort_unstable();
    cpus.dedup();
    let online = std::thread::available_parallelism().map_or(1, |n| n.get());
    match cpus.iter().find(|c| **c >= online) {
        Some(c) => Err(format!(
            "CPU {c} does not exist (this machine has {online})"
        )),
        None => Ok(cpus),
    }
}

fn parse_servers(value: &str) -> Result<Vec<Kind>, Fail> {
    let mut wanted = Vec::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                usage(format!("unknown server '{name}' ({})", known.join(", ")))
            })?;
        wanted.push(kind);
    }
    if wanted.is_empty() {
        return Err(usage("--servers is empty"));
    }
    // Report order is fixed (coreline first), whatever order was given.
    Ok(Kind::ALL
        .into_iter()
        .filter(|k| wanted.contains(k))
        .collect())
}

#[cfg(test)]
#[path = "args/tests.rs"]
mod tests;
