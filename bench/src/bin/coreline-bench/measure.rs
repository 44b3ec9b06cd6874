//! One measured run: the load process under `taskset`, with the server's CPU-seconds
//! (/proc/PID/stat, user and kernel apart), both sides' CPU busy shares (/proc/stat), the load process's own CPU
//! (getrusage of reaped children) and the server's RSS while the connections are open.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};

use crate::fail::{run, Fail};
use crate::procstat::{processes_cpu_split, rss_kib, CpuTimes};
use coreline_bench::LoadSummary;

/// A core at or above this busy share (%) is "the limit" of a closed-loop run.
pub const SATURATED_PCT: f64 = 95.0;
/// CPU share (%) on a pinned CPU that neither the server nor the load used: a disturbed run.
pub const OTHER_PCT: f64 = 15.0;

/// Processes that take part in a run without being measured (the proxy scenarios'
/// upstream coreline) and the CPUs they are pinned to: their CPU time there is the run's,
/// not another process's disturbing it.
#[derive(Debug, Clone, Copy)]
pub struct Helpers<'a> {
    /// Their process ids (none: no helpers).
    pub pids: &'a [u32],
    /// Their CPUs.
    pub cpus: &'a [usize],
}

impl Helpers<'_> {
    /// The share (%) of `side`'s CPUs that `cpu_s` helper CPU-seconds over `wall_s` took,
    /// assuming they spread evenly over the helpers' CPUs.
    fn pct_of(&self, cpu_s: f64, wall_s: f64, side: &[usize]) -> f64 {
        let overlap = self.cpus.iter().filter(|c| side.contains(c)).count();
        if overlap == 0 || side.is_empty() || wall_s <= 0.0 {
            return 0.0;
        }
        let on_side = cpu_s * overlap as f64 / self.cpus.len() as f64;
        100.0 * on_side / wall_s / side.len() as f64
    }
}

/// Everything measured in one run.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// What the load tool reported.
    pub load: LoadSummary,
    /// Wall seconds of the load process.
    pub wall_s: f64,
    /// Server CPU-seconds over the run (all measured processes).
    pub server_cpu_s: f64,
    /// The user-mode part of `server_cpu_s` (utime).
    pub server_user_s: f64,
    /// The kernel part of `server_cpu_s` (stime).
    pub server_sys_s: f64,
    /// Server CPU ÷ wall ÷ number of server CPUs (100 = all its cores).
    pub server_core_pct: f64,
    /// Busy share of the client CPUs (/proc/stat, including softirq).
    pub client_core_pct: f64,
    /// Busy share of the server CPUs (/proc/stat, including softirq).
    pub server_cpus_busy_pct: f64,
    /// Load process CPU ÷ wall ÷ number of client CPUs.
    pub load_process_pct: f64,
    /// CPU share of a pinned CPU that went to neither the server nor the load (max of sides).
    pub other_pct: f64,
    /// Server RSS in KiB, the last sample before the load finished (connections open).
    pub rss_kib: u64,
    /// Largest server RSS sample during the run.
    pub rss_peak_kib: u64,
}

impl Measured {
    /// Server CPU-µs per request.
    pub fn cpu_us_per_req(&self) -> f64 {
        self.per_req_us(self.server_cpu_s)
    }

    /// Server user-mode CPU-µs per request.
    pub fn user_us_per_req(&self) -> f64 {
        self.per_req_us(self.server_user_s)
    }

    /// Server kernel CPU-µs per request.
    pub fn sys_us_per_req(&self) -> f64 {
        self.per_req_us(self.server_sys_s)
    }

    fn per_req_us(&self, cpu_s: f64) -> f64 {
        if self.load.requests == 0 {
            f64::NAN
        } else {
            cpu_s / self.load.requests as f64 * 1e6
        }
    }

    /// Requests per server CPU-second.
    pub fn req_per_cpu_s(&self) -> f64 {
        if self.server_cpu_s > 0.0 {
            self.load.requests as f64 / self.server_cpu_s
        } else {
            f64::NAN
        }
    }
}

/// Which side saturated its cores: `client`, `server`, `both` or `neither`.
pub fn limit(server_core_pct: f64, client_core_pct: f64) -> &'static str {
    match (
        client_core_pct >= SATURATED_PCT,
        server_core_pct >= SATURATED_PCT,
    ) {
        (true, true) => "both",
        (true, false) => "client",
        (false, true) => "server",
        (false, false) => "neither",
    }
}

/// Whether the load runs on a server CPU (`compare --allow-overlap`).
pub fn shares_cpu(server_cpus: &[usize], client_cpus: &[usize]) -> bool {
    server_cpus.iter().any(|c| client_cpus.contains(c))
}

/// Runs `cmd` (already under taskset) while measuring `server_pids` on `server_cpus` and the
/// client on `client_cpus`; returns its stdout and the measurements (the load result is
/// filled in by the caller). The CPU time of `helpers` is not counted as other processes'.
pub fn measure(
    cmd: &[String],
    duration_s: u64,
    server_pids: &[u32],
    server_cpus: &[usize],
    client_cpus: &[usize],
    helpers: Helpers<'_>,
    log: &Path,
) -> Result<(String, Measured), Fail> {
    let ru0 = children_cpu_s();
    let cpu0 = processes_cpu_split(server_pids);
    let helpers0 = processes_cpu_split(helpers.pids);
    let (s0, c0) = (CpuTimes::read(server_cpus), CpuTimes::read(client_cpus));
    // With the load on a server CPU, one pool of CPUs holds both.
    let pool: Vec<usize> = (server_cpus.iter().chain(client_cpus).copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let shared = shares_cpu(server_cpus, client_cpus);
    let p0 = CpuTimes::read(&pool);
    let start = Instant::now();
    let stderr = std::fs::File::create(log).map_err(|e| run(format!("{}: {e}", log.display())))?;
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| run(format!("cannot run {}: {e}", cmd.join(" "))))?;
    // stdout is small (wrk's summary); read it on a thread so the pipe never fills.
    let mut out = child.stdout.take().expect("piped");
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let deadline = start + Duration::from_secs(duration_s + 60);
    let (mut rss, mut peak) = (0, 0);
    let mut next_rss = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| run(format!("wait: {e}")))? {
            break status;
        }
        if Instant::now() >= next_rss {
            rss = rss_kib(server_pids);
            peak = peak.max(rss);
            next_rss += Duration::from_millis(100);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(run(format!(
                "`{}` still running {} s after its duration",
                cmd.join(" "),
                60
            )));
        }
        thread::sleep(Duration::from_millis(10));
    };
    let wall = start.elapsed().as_secs_f64();
    let cpu1 = processes_cpu_split(server_pids);
    let helpers_cpu_s = helpers0.until(&processes_cpu_split(helpers.pids)).total_s();
    let (s1, c1) = (CpuTimes::read(server_cpus), CpuTimes::read(client_cpus));
    let load_cpu = children_cpu_s() - ru0;
    let stdout = reader.join().unwrap_or_default();
    if !status.success() {
        let said = std::fs::read_to_string(log).unwrap_or_default();
        let said = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        return Err(run(format!(
            "`{}` failed ({status}): {said}",
            cmd.join(" ")
        )));
    }
    let used = cpu0.until(&cpu1);
    let server_cpu_s = used.total_s();
    let server_core_pct = 100.0 * server_cpu_s / wall / server_cpus.len() as f64;
    let load_process_pct = 100.0 * load_cpu / wall / client_cpus.len() as f64;
    let helper_pct = |side: &[usize]| helpers.pct_of(helpers_cpu_s, wall, side);
    let other = if shared {
        // What neither the server, the load nor its helpers took of the pool.
        let ours = 100.0 * (server_cpu_s + load_cpu) / wall / pool.len() as f64;
        p0.task_pct(&CpuTimes::read(&pool)) - ours - helper_pct(&pool)
    } else {
        (s0.task_pct(&s1) - server_core_pct - helper_pct(server_cpus))
            .max(c0.task_pct(&c1) - load_process_pct - helper_pct(client_cpus))
    };
    let m = Measured {
        wall_s: wall,
        server_cpu_s,
        server_user_s: used.user_s,
        server_sys_s: used.sys_s,
        server_core_pct,
        client_core_pct: c0.busy_pct(&c1),
        server_cpus_busy_pct: s0.busy_pct(&s1),
        load_process_pct,
        other_pct: other.max(0.0),
        rss_kib: rss,
        rss_peak_kib: peak,
        load: LoadSummary::default(),
    };
    Ok((stdout, m))
}

/// CPU-seconds of every reaped child so far (the load processes; servers run to the end).
fn children_cpu_s() -> f64 {
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_count_only_on_the_cpus_they_share() {
        let up = Helpers {
            pids: &[],
            cpus: &[1],
        };
        // 0.5 CPU-s in 1 s on CPU 1: half of that one client CPU, a quarter of two.
        assert!((up.pct_of(0.5, 1.0, &[1]) - 50.0).abs() < 1e-9);
        assert!((up.pct_of(0.5, 1.0, &[1, 2]) - 25.0).abs() < 1e-9);
        assert_eq!(up.pct_of(0.5, 1.0, &[0]), 0.0, "not on the server's CPU");
        let spread = Helpers {
            pids: &[],
            cpus: &[1, 3],
        };
        assert!((spread.pct_of(1.0, 1.0, &[1]) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn limit_names_the_saturated_side() {
        assert_eq!(limit(99.0, 50.0), "server");
        assert_eq!(limit(50.0, 99.0), "client");
        assert_eq!(limit(96.0, 99.0), "both");
        assert_eq!(limit(50.0, 50.0), "neither");
    }

    #[test]
    fn user_and_kernel_time_per_request() {
        let m = Measured {
            load: LoadSummary {
                requests: 1000,
                ..LoadSummary::default()
            },
            server_cpu_s: 0.004,
            server_user_s: 0.001,
            server_sys_s: 0.003,
            ..Measured::default()
        };
        assert!((m.cpu_us_per_req() - 4.0).abs() < 1e-9);
        assert!((m.user_us_per_req() - 1.0).abs() < 1e-9);
        assert!((m.sys_us_per_req() - 3.0).abs() < 1e-9);
        assert!(Measured::default().user_us_per_req().is_nan());
    }
}
