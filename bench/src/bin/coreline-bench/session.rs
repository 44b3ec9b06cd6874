//! The runs of one comparison: every scenario for every server, interleaved (repeat →
//! scenario → server), each after a wait for quiet CPUs and redone when disturbed; closed-loop
//! scenarios first, then the open-loop ones at fractions of nginx's measured capacity.
//!
//! `outcome`: what a session records. `one_run`: a single load run and its measurement.
//! This file: the order of the runs, skips, open-loop rates and retries.

mod one_run;
mod outcome;

use std::path::Path;

use crate::args::{CompareArgs, LoadTool};
use crate::disturbed::disturbed;
use crate::fail::{note, Fail};
use crate::load;
use crate::procstat::wait_quiet;
use crate::scenarios::Scenario;
use crate::servers::{Kind, Server};
pub use outcome::{Outcome, Run};

/// The fixed inputs of every run.
pub struct Session<'a> {
    /// The options.
    pub args: &'a CompareArgs,
    /// The running servers, in report order.
    pub servers: &'a mut [Server],
    /// The load generator's binary.
    pub load_bin: &'a Path,
    /// Whether coreline-load can draw plots.
    pub plots: bool,
    /// Scratch directory.
    pub work: &'a Path,
    /// The processes of the proxy scenarios' upstream coreline (none without one).
    pub upstream_pids: &'a [u32],
}

impl Session<'_> {
    /// Runs every scenario; returns the runs and the skips.
    pub fn run_all(&mut self) -> Result<Outcome, Fail> {
        let mut out = Outcome::default();
        let a = self.args;
        if !a.quick {
            for i in 0..self.servers.len() {
                // 1 s of plain64 each: page in the binaries, fill caches, open the files.
                let spec = self.spec(&crate::scenarios::all()[0], i, None, 1);
                self.once(&spec, i, "warm-up")?;
            }
        }
        let (closed, open): (Vec<&Scenario>, Vec<&Scenario>) =
            a.scenarios.iter().partition(|s| s.open_fraction.is_none());
        self.phase(&closed, &mut out)?;
        if !open.is_empty() {
            // wrk cannot run them: no capacity run then, just the skips.
            if a.load == LoadTool::CorelineLoad {
                self.rates(&open, &mut out)?;
            }
            self.phase(&open, &mut out)?;
        }
        Ok(out)
    }

    fn phase(&mut self, scenarios: &[&Scenario], out: &mut Outcome) -> Result<(), Fail> {
        let a = self.args;
        for rep in 1..=a.repeats {
            for s in scenarios {
                for i in 0..self.servers.len() {
                    let key = (s.name.to_string(), self.servers[i].kind);
                    if rep == 1 {
                        if let Some(why) = self.skip_reason(s, i, out) {
                            note(format!("{} {}: skipped ({why})", s.name, key.1.name()));
                            out.skipped.insert(key.clone(), why);
                        }
                    }
                    if out.skipped.contains_key(&key) || out.failed.contains_key(&key) {
                        continue;
                    }
                    match self.attempts(s, i, rep, out.rates.get(s.name).copied()) {
                        Ok(r) => out.runs.entry(key).or_default().push(r),
                        // A load run that failed against a live server costs that cell only
                        // (its earlier repeats are kept); a server that died ends the session.
                        Err(Fail::Run(why)) if self.servers[i].exited().is_none() => {
                            note(format!(
                                "rep {rep} {} {}: failed: {why}",
                                s.name,
                                key.1.name()
                            ));
                            out.failed.insert(key, format!("rep {rep}: {why}"));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    fn skip_reason(&self, s: &Scenario, i: usize, out: &Outcome) -> Option<String> {
        let server = &self.servers[i];
        if let Some(why) = s.unsupported_by(server.kind) {
            return Some(why.into());
        }
        if let Some(why) = s.unsupported_by_tool(self.args.load) {
            return Some(why.into());
        }
        if s.tls && server.tls_port.is_none() {
            return Some("no TLS listener: see the note above".into());
        }
        if s.open_fraction.is_some() && !out.rates.contains_key(s.name) {
            return Some(
                "no nginx capacity to derive the rate from (add nginx to --servers)".into(),
            );
        }
        None
    }

    /// Open-loop rates: fractions of nginx's plain64 median req/s from this session, or of a
    /// short closed-loop plain64 run on nginx when plain64 was not run.
    fn rates(&mut self, open: &[&Scenario], out: &mut Outcome) -> Result<(), Fail> {
        let Some(nginx) = self.servers.iter().position(|s| s.kind == Kind::Nginx) else {
            return Ok(());
        };
        let measured = out.runs.get(&("plain64".to_string(), Kind::Nginx));
        let capacity = match measured {
            Some(runs) => {
                let summary = crate::stats::Summary::of(runs);
                // Said in the report: a client-bound capacity is what one client core drives,
                // a floor of what nginx could serve.
                let bound = match summary.limit {
                    "client" | "both" => "; the client core was the limit there",
                    _ => "",
                };
                (
                    summary.rps,
                    format!("median req/s of nginx's plain64 runs above{bound}"),
                )
            }
            None => {
                let plain64 = crate::scenarios::all().remove(0);
                let secs = self.args.duration.min(3);
                wait_quiet(&self.all_cpus(), self.args.quiet_wait);
                let spec = self.spec(&plain64, nginx, None, secs);
                let (_, m) = self.once(&spec, nginx, "capacity")?;
                (
                    m.load.requests_per_sec,
                    format!("a {secs} s closed-loop plain64 run on nginx"),
                )
            }
        };
        note(format!(
            "nginx capacity {:.0} req/s ({})",
            capacity.0, capacity.1
        ));
        for s in open {
            out.rates.insert(
                s.name.to_string(),
                capacity.0 * s.open_fraction.unwrap_or(1.0),
            );
        }
        out.capacity = Some(capacity);
        Ok(())
    }

    fn attempts(
        &mut self,
        s: &Scenario,
        i: usize,
        rep: usize,
        rate: Option<f64>,
    ) -> Result<Run, Fail> {
        let a = self.args;
        let retries = if a.quick { 0 } else { a.retries };
        let kind = self.servers[i].kind;
        let mut attempt = 1;
        loop {
            let busy = wait_quiet(&self.all_cpus(), a.quiet_wait);
            let spec = self.spec(s, i, rate, a.duration);
            // Plots only where latency is the point: open loop, coordinated omission corrected.
            let plot = (self.plots && s.open_fraction.is_some())
                .then(|| load::plot_file(self.work, &format!("{}-r{rep}", s.name), kind.name()));
            let (command, m) = self.once_with_plot(&spec, i, s.name, plot.as_deref())?;
            let why = disturbed(&m, busy, a.quiet_wait > 0.0, s.open_fraction.is_none());
            let last = attempt > retries;
            if let Some(w) = &why {
                note(format!(
                    "rep {rep} {} {} attempt {attempt}: disturbed ({w}){}",
                    s.name,
                    kind.name(),
                    if last { "; keeping it" } else { "; again" }
                ));
            }
            if why.is_none() || last {
                note(format!(
                    "rep {rep} {:13} {:8} {:>11.0} req/s {:>8.3} CPU-us/req (user {:.3}, kernel {:.3})  p99 {:>8.0} us  server {:.0}%  client {:.0}%  errors {}",
                    s.name, kind.name(), m.load.requests_per_sec, m.cpu_us_per_req(), m.user_us_per_req(), m.sys_us_per_req(), m.load.latency_us.p99,
                    m.server_core_pct, m.client_core_pct, m.load.errors.total()
                ));
                let plot = plot.filter(|p| p.is_file());
                return Ok(Run {
                    rep,
                    attempt,
                    busy_before_pct: busy,
                    m,
                    disturbed: why,
                    command,
                    plot,
                });
            }
            attempt += 1;
        }
    }
}
