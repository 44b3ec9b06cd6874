//! `coreline-load`: an HTTP/1.1 load generator on coreline's own runtime.
//!
//! Closed loop (as fast as responses come back) or open loop (`-R`, latencies from the
//! time each request was due), keep-alive, pipelining, a connection per request, TLS with
//! or without resumption, several cores. See bench/README.md for the options, the JSON
//! schema and the decisions behind them.
//!
//! Exit status: 0 after a run with at least one successful (2xx/3xx) response, 1 when
//! none succeeded (the summary says why), 2 for bad arguments or configuration.

mod args;
mod conn;
mod core_task;
mod hlog;
mod interrupt;
mod plot;
mod progress;
mod report;
mod request;
mod response;
mod schedule;
mod stats;
mod tls;
mod transport;
mod url;

use std::cell::RefCell;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use coreline_runtime::{Cores, Runtime};

use crate::args::{Command, Config};
use crate::conn::Core;
use crate::interrupt::Interrupt;
use crate::progress::Progress;
use crate::report::Report;
use crate::schedule::Plan;
use crate::stats::{ErrorKind, Stats};
use crate::tls::TlsSettings;
use crate::transport::TlsSetup;

/// Size of each receive buffer: a full TLS record fits one.
const RECV_BUFFER_SIZE: u32 = 16 * 1024;

/// Receive buffers per core for `per_core` connections: two each, between 32 and 1024.
/// The kernel fills the provided buffers in ring order, so every buffer of the ring is in
/// turn the destination of the receive copy: a ring that fits the core's cache keeps that
/// copy out of memory (bench/README.md, large files: 1024 buffers doubled the copy time of
/// a 1 MiB response), while two per connection leave each one a buffer to receive into
/// while the other waits to be parsed.
fn recv_buffer_count(per_core: usize) -> u16 {
    (2 * per_core).next_power_of_two().clamp(32, 1024) as u16
}

fn main() -> ExitCode {
    let cfg = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(cfg)) => cfg,
        Ok(Command::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("coreline-load: {e} (see coreline-load --help)");
            return ExitCode::from(2);
        }
    };
    match run(&cfg) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("coreline-load: {e}");
            ExitCode::from(2)
        }
    }
}

/// The CPUs to run on: `--cpus`, else `-t N` (or 1) of those this process may use from the
/// second on (leaving the first to a server started with `--cpus 0`), the first last.
fn cpus(cfg: &Config) -> Result<Vec<usize>, String> {
    if let Some(list) = &cfg.cpus {
        return Ok(list.clone());
    }
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map_err(|e| format!("cannot read the CPU affinity: {e}"))?;
    let allowed: Vec<usize> = (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect();
    if allowed.is_empty() {
        return Err("no CPU is available to this process".into());
    }
    let wanted = cfg.threads.unwrap_or(1);
    if wanted > allowed.len() {
        eprintln!(
            "coreline-load: warning: -t {wanted} is more than the {} CPUs this process may \
             use; running one thread on each",
            allowed.len()
        );
    }
    let mut order = allowed.clone();
    order.rotate_left(1.min(allowed.len() - 1));
    order.truncate(wanted);
    Ok(order)
}

/// Lets this process hold as many connections as its hard limit allows.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn run(cfg: &Config) -> Result<ExitCode, String> {
    let addr = cfg.target.resolve()?;
    let tls = match cfg.target.tls {
        true => Some(TlsSettings::new(
            &cfg.target.host,
            cfg.cacert.as_deref(),
            cfg.tls_resume,
        )?),
        false => None,
    };
    let cpus = cpus(cfg)?;
    if cfg.connections < cpus.len() {
        return Err(format!(
            "-c {} is fewer connections than the {} CPUs",
            cfg.connections,
            cpus.len()
        ));
    }
    raise_fd_limit();
    let runtime = Runtime::builder()
        .cores(Cores::List(cpus.clone()))
        .recv_buffers(
            cfg.recv_buffers
                .unwrap_or_else(|| recv_buffer_count(cfg.connections.div_ceil(cpus.len()))),
            RECV_BUFFER_SIZE,
        )
        .ring_entries(4096)
        .busy_poll(cfg.busy_poll)
        .metrics(false)
        .thread_name("coreline-load")
        .build()
        .map_err(|e| format!("--cpus: {e}"))?;

    // One start instant for every core, a moment ahead so that all threads are up and
    // keep-alive connections are open when it comes.
    let lead = Duration::from_millis(100) + Duration::from_micros(50) * cfg.connections as u32;
    let start = Instant::now() + lead;
    let started_wall = SystemTime::now() + lead;
    let plan = Plan::new(
        start,
        cfg.duration,
        cfg.rate,
        cfg.connections,
        cfg.timeout,
        cfg.pipeline,
        cfg.close,
    )
    .with_warmup(cfg.warmup);
    let budget = cfg.requests.map(|n| Arc::new(AtomicUsize::new(n)));
    let interrupt = Interrupt::install();
    let progress = Progress::new(cpus.len());
    let printer =
        (!cfg.quiet && std::io::stderr().is_terminal()).then(|| progress.spawn_printer(start));
    let ncores = cpus.len();
    let outputs = runtime.run(|id| {
        // This core's share of the connections and the global index of its first one.
        let (base, extra) = (cfg.connections / ncores, cfg.connections % ncores);
        let count = base + usize::from(id.index < extra);
        let first = id.index * base + id.index.min(extra);
        let core = Rc::new(Core {
            addr,
            requests: request::Requests::new(cfg),
            tls: tls.as_ref().map(|t| TlsSetup {
                config: t.core_config(),
                name: t.server_name(),
            }),
            fastopen: cfg.fastopen,
            plan,
            stats: RefCell::new(Stats::default()),
            budget: budget.clone(),
        });
        let (progress, interrupt) = (progress.clone(), interrupt.clone());
        core_task::run(core, first, count, progress, interrupt, id.index)
    });
    progress.finish();
    if let Some(p) = printer {
        let _ = p.join();
    }
    let outputs = outputs.map_err(|e| format!("the runtime failed: {e}"))?;
    let mut stats = Stats::default();
    for s in &outputs {
        stats.merge(s);
    }
    let spent = budget.is_some_and(|left| left.load(Ordering::Relaxed) == 0);
    let duration = match interrupt.at() {
        Some(at) => at
            .saturating_duration_since(plan.measure_from)
            .min(cfg.duration),
        // -n reached: the run lasted until its last response.
        None if spent => stats.last_response.min(cfg.duration),
        None => cfg.duration.max(stats.last_response),
    };
    let report = Report {
        cfg,
        cpus: &cpus,
        stats: &stats,
        duration,
        due: (plan.due_count(cfg.connections))
            .map(|due| cfg.requests.map_or(due, |n| due.min(n as u64))),
        interrupted: interrupt.is_set(),
    };
    print!("{}", report.text());
    if let Some(path) = &cfg.json {
        let text = serde_json::to_string_pretty(&report.json()).expect("JSON of plain values");
        std::fs::write(path, text + "\n").map_err(|e| format!("--json {}: {e}", path.display()))?;
    }
    if let Some(path) = &cfg.hlog {
        hlog::write(path, started_wall + cfg.warmup, &stats.intervals, duration)?;
    }
    if let Some(path) = &cfg.plot {
        let title = format!("{} ({} connections)", cfg.target.url, cfg.connections);
        plot::write(path, &stats.latency, &title)?;
    }
    let succeeded = stats.requests - stats.errors.count(ErrorKind::Status);
    if succeeded == 0 {
        eprintln!("coreline-load: no successful response (see the errors above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::recv_buffer_count;

    #[test]
    fn recv_buffers_two_per_connection_within_bounds() {
        assert_eq!(recv_buffer_count(1), 32);
        assert_eq!(recv_buffer_count(16), 32);
        assert_eq!(recv_buffer_count(17), 64);
        assert_eq!(recv_buffer_count(64), 128);
        assert_eq!(recv_buffer_count(500), 1024);
        assert_eq!(recv_buffer_count(100_000), 1024);
    }
}
