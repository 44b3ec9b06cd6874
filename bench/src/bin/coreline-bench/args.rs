//! Command-line options of `coreline-bench compare`, parsed by hand (a dozen flags do not need
//! a parser crate), each with the default the README documents.

use std::path::PathBuf;

use coreline_runtime::Cores;

use crate::fail::{usage, Fail};
use crate::scenarios::{self, Scenario};
use crate::servers::Kind;

/// Which tool generates the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadTool {
    /// `coreline-load` from this crate: closed and open loop, TLS resumption, p99.9.
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

/// The usage text of `compare` (also the README's option list, in short).
pub const COMPARE_USAGE: &str = "\
usage: coreline-bench compare [OPTIONS]

  --servers LIST      coreline,nginx,hyper[,ceiling]            (default coreline,nginx,hyper)
                      coreline variants: coreline-metrics, coreline-rxts (latency
                      metrics on), coreline-splice, coreline-read, coreline-send-zc
                      (one file-body method at every size); axum-coreline and
                      axum-tokio: the axum example's router on coreline / axum::serve
  --scenarios LIST    plain64,plain1024,pipelined16,close,file64k,file1m,tls,
                      tls-handshake,tls-resume,open50,open90    (default: these)
                      and fileN / fileNk / fileNm: a file of N bytes / KiB / MiB;
                      axum-json, axum-user: the axum servers' JSON routes
  --duration SECS     seconds per run                           (default 10)
  --repeats N         interleaved repeats, medians reported     (default 3)
  --server-cpus LIST  CPUs of the servers                       (default 0)
  --client-cpus LIST  CPUs of the load generator                (default 1)
  --load TOOL         coreline-load, or wrk (closed loop only)  (default coreline-load)
  --port-base PORT    server i on PORT+2i, TLS on PORT+2i+1     (default 27180)
  --quiet-wait SECS   wait for idle CPUs before each run        (default 30)
  --retries N         redo a disturbed run up to N times        (default 2)
  --out NAME          NAME.md, NAME.json, NAME-*.svg            (default compare)
  --results-dir DIR   where the report goes                     (default bench/results)
  --bin-dir DIR       coreline, hyper-peer, coreline-load       (default: beside this binary)
  --no-build          do not cargo-build the binaries first
  --nginx-conf FILE   reference nginx config            (default bench/nginx/nginx.conf)
  --quick             every scenario briefly: 1 s, 1 repeat, no waits, <= 128 connections
";

impl CompareArgs {
    /// Parses the arguments after `compare`.
    pub fn parse(args: &[String]) -> Result<CompareArgs, Fail> {
        let mut a = CompareArgs {
            servers: vec![Kind::Coreline, Kind::Nginx, Kind::Hyper],
            scenarios: scenarios::defaults(),
            duration: 10,
            repeats: 3,
            server_cpus: vec![0],
            client_cpus: vec![1],
            load: LoadTool::CorelineLoad,
            port_base: 27180,
            quiet_wait: 30.0,
            retries: 2,
            out: "compare".into(),
            results_dir: None,
            bin_dir: None,
            no_build: false,
            nginx_conf: None,
            quick: false,
        };
        let (mut duration, mut repeats, mut quiet) = (None, None, None);
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--quick" {
                a.quick = true;
                continue;
            }
            if flag == "--no-build" {
                a.no_build = true;
                continue;
            }
            if flag == "-h" || flag == "--help" {
                return Err(Fail::Help(COMPARE_USAGE));
            }
            let value = it
                .next()
                .ok_or_else(|| usage(format!("{flag} needs a value")))?;
            match flag.as_str() {
                "--servers" => a.servers = parse_servers(value)?,
                "--scenarios" => a.scenarios = scenarios::parse(value)?,
                "--duration" => duration = Some(number(flag, value, 1)?),
                "--repeats" => repeats = Some(number(flag, value, 1)? as usize),
                "--server-cpus" => a.server_cpus = cpu_list(flag, value)?,
                "--client-cpus" => a.client_cpus = cpu_list(flag, value)?,
                "--load" => {
                    a.load = match value.as_str() {
                        "coreline-load" => LoadTool::CorelineLoad,
                        "wrk" => LoadTool::Wrk,
                        _ => return Err(usage("--load takes coreline-load or wrk")),
                    }
                }
                "--port-base" => {
                    a.port_base = value
                        .parse()
                        .ok()
                        .filter(|p| (1024..65000).contains(p))
                        .ok_or_else(|| usage("--port-base takes a port in 1024..65000"))?
                }
                "--quiet-wait" => {
                    quiet = Some(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|s| *s >= 0.0)
                            .ok_or_else(|| usage("--quiet-wait takes seconds >= 0"))?,
                    )
                }
                "--retries" => a.retries = number(flag, value, 0)? as usize,
                "--out" => {
                    if value.is_empty() || value.contains('/') {
                        return Err(usage("--out takes a file name without '/'"));
                    }
                    a.out = value.clone();
                }
                "--results-dir" => a.results_dir = Some(value.into()),
                "--bin-dir" => a.bin_dir = Some(value.into()),
                "--nginx-conf" => a.nginx_conf = Some(value.into()),
                _ => return Err(usage(format!("unknown option '{flag}'"))),
            }
        }
        // --quick sets the brief defaults; explicit flags still win.
        a.duration = duration.unwrap_or(if a.quick { 1 } else { 10 });
        a.repeats = repeats.unwrap_or(if a.quick { 1 } else { 3 });
        a.quiet_wait = quiet.unwrap_or(if a.quick { 0.0 } else { 30.0 });
        if a.quick {
            for s in &mut a.scenarios {
                s.connections = s.connections.min(128);
            }
        }
        if a.server_cpus.iter().any(|c| a.client_cpus.contains(c)) {
            return Err(usage("--server-cpus and --client-cpus must not overlap"));
        }
        Ok(a)
    }
}

fn number(flag: &str, value: &str, min: u64) -> Result<u64, Fail> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| usage(format!("{flag} takes a whole number >= {min}")))
}

fn cpu_list(flag: &str, value: &str) -> Result<Vec<usize>, Fail> {
    match Cores::parse_list(value) {
        Ok(Cores::List(mut cpus)) if !cpus.is_empty() => {
            cpus.sort_unstable();
            cpus.dedup();
            let online = std::thread::available_parallelism().map_or(1, |n| n.get());
            match cpus.iter().find(|c| **c >= online) {
                Some(c) => Err(usage(format!(
                    "{flag}: CPU {c} does not exist (this machine has {online})"
                ))),
                None => Ok(cpus),
            }
        }
        _ => Err(usage(format!(
            "{flag} takes a CPU list such as 0, 0,1 or 0-3"
        ))),
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
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<CompareArgs, Fail> {
        CompareArgs::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn quick_shortens_everything_but_explicit_flags_win() {
        let a = parse(&["--quick"]).unwrap();
        assert_eq!((a.duration, a.repeats, a.quiet_wait), (1, 1, 0.0));
        assert!(a.scenarios.iter().all(|s| s.connections <= 128));
        assert_eq!(a.scenarios.len(), 11);
        let a = parse(&["--quick", "--duration", "4", "--repeats", "2"]).unwrap();
        assert_eq!((a.duration, a.repeats), (4, 2));
        let full = parse(&[]).unwrap();
        assert_eq!(
            (full.duration, full.repeats, full.quiet_wait),
            (10, 3, 30.0)
        );
        assert_eq!(
            full.scenarios
                .iter()
                .find(|s| s.name == "plain1024")
                .unwrap()
                .connections,
            1024
        );
    }

    #[test]
    fn servers_come_in_report_order_and_bad_values_are_refused() {
        let a = parse(&["--servers", "hyper,coreline", "--load", "wrk"]).unwrap();
        assert_eq!(a.servers, [Kind::Coreline, Kind::Hyper]);
        assert_eq!(a.load, LoadTool::Wrk);
        for bad in [
            &["--servers", "apache"][..],
            &["--duration", "0"],
            &["--load", "ab"],
            &["--out", "a/b"],
            &["--port-base", "80"],
            &["--retries"],
            &["--frob", "1"],
        ] {
            assert!(matches!(parse(bad), Err(Fail::Usage(_))), "{bad:?}");
        }
        assert!(matches!(parse(&["--help"]), Err(Fail::Help(_))));
    }
}
