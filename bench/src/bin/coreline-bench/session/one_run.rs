//! One load run of a session: its load spec, the command, and the measurement around it.

use std::path::Path;

use super::Session;
use crate::fail::{run, Fail};
use crate::load::{self, LoadSpec};
use crate::measure::{measure, Helpers, Measured};
use crate::scenarios::Scenario;

impl Session<'_> {
    pub(super) fn once(
        &mut self,
        spec: &LoadSpec,
        i: usize,
        what: &str,
    ) -> Result<(String, Measured), Fail> {
        self.once_with_plot(spec, i, what, None)
    }

    /// One load run against server `i`; fails if the server died during it.
    pub(super) fn once_with_plot(
        &mut self,
        spec: &LoadSpec,
        i: usize,
        what: &str,
        plot: Option<&Path>,
    ) -> Result<(String, Measured), Fail> {
        let a = self.args;
        load::prepare(a.load, spec, self.work)?;
        let cmd = load::command(a.load, self.load_bin, spec, self.work, plot);
        let server = &mut self.servers[i];
        let log = self.work.join("load.log");
        let measured = measure(
            &cmd,
            spec.duration,
            &server.pids,
            &a.server_cpus,
            &a.client_cpus,
            // The proxy scenarios' upstream shares the load's CPUs by default: its work is
            // the run's, not a disturbance.
            Helpers {
                pids: self.upstream_pids,
                cpus: &a.upstream_cpus,
            },
            &log,
        );
        if let Some(status) = server.exited() {
            return Err(run(format!(
                "{} exited ({status}) during its {what} run",
                server.kind.name()
            )));
        }
        let (stdout, mut m) = measured?;
        m.load = load::parse(a.load, &stdout, self.work)?;
        Ok((cmd.join(" "), m))
    }

    pub(super) fn spec(
        &self,
        s: &Scenario,
        i: usize,
        rate: Option<f64>,
        duration: u64,
    ) -> LoadSpec {
        let server = &self.servers[i];
        let (scheme, port) = match (s.tls, server.tls_port) {
            (true, Some(p)) => ("https", p),
            _ => ("http", server.port),
        };
        LoadSpec {
            url: format!("{scheme}://127.0.0.1:{port}{}", s.path()),
            connections: s.connections,
            duration,
            rate,
            pipeline: s.pipeline,
            close: s.close,
            tls_resume: s.resume,
            json_body: s.json_body(),
            cpus: self.args.client_cpus.clone(),
        }
    }

    pub(super) fn all_cpus(&self) -> Vec<usize> {
        let mut v = self.args.server_cpus.clone();
        v.extend(&self.args.client_cpus);
        v
    }
}
