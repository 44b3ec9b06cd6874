//! What /proc says about CPU time and memory: a process's utime+stime and VmRSS, a CPU's
//! busy/total jiffies, and waiting for quiet CPUs on a shared machine.

use std::fs;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Busy share (%) below which a CPU counts as quiet before a run.
pub const QUIET_PCT: f64 = 10.0;

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on every Linux port
/// that matters, used if getconf is missing).
fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The fields after the `(comm)` of /proc/PID/stat (comm may hold spaces and parentheses).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The parent pid of `pid`.
pub fn ppid(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// CPU-seconds a process has used so far, all threads: user (utime) and kernel (stime).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSplit {
    /// User-mode seconds (utime).
    pub user_s: f64,
    /// Kernel-mode seconds (stime): system calls, io_uring work, softirq charged to it.
    pub sys_s: f64,
}

impl CpuSplit {
    /// User plus kernel seconds.
    pub fn total_s(&self) -> f64 {
        self.user_s + self.sys_s
    }

    /// The time used between `self` (earlier) and `later`.
    pub fn until(&self, later: &CpuSplit) -> CpuSplit {
        CpuSplit {
            user_s: later.user_s - self.user_s,
            sys_s: later.sys_s - self.sys_s,
        }
    }
}

/// The process's utime and stime so far, in seconds.
pub fn process_cpu_split(pid: u32) -> Option<CpuSplit> {
    let f = stat_fields(pid)?;
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some(CpuSplit {
        user_s: utime / clk_tck(),
        sys_s: stime / clk_tck(),
    })
}

/// Sum of [`process_cpu_split`] over several processes (nginx's workers); 0 for a gone one.
pub fn processes_cpu_split(pids: &[u32]) -> CpuSplit {
    pids.iter()
        .filter_map(|p| process_cpu_split(*p))
        .fold(CpuSplit::default(), |a, c| CpuSplit {
            user_s: a.user_s + c.user_s,
            sys_s: a.sys_s + c.sys_s,
        })
}

/// Resident set size in KiB (VmRSS), summed over `pids`.
pub fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

/// Direct children of `parent` (nginx's workers), by scanning /proc.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| ppid(*pid) == Some(parent))
        .collect();
    out.sort_unstable();
    out
}

/// Jiffies of a set of CPUs from /proc/stat, summed.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    /// Everything but idle and iowait (includes irq and softirq).
    pub busy: u64,
    /// Everything.
    pub total: u64,
    /// user + nice + system: what processes are charged for.
    pub task: u64,
}

impl CpuTimes {
    /// Reads the current counters of `cpus`.
    pub fn read(cpus: &[usize]) -> CpuTimes {
        let text = fs::read_to_string("/proc/stat").unwrap_or_default();
        let mut t = CpuTimes::default();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let Some(cpu) = parts.next().and_then(|n| n.strip_prefix("cpu")) else {
                continue;
            };
            if !cpu.parse::<usize>().is_ok_and(|c| cpus.contains(&c)) {
                continue;
            }
            // user nice system idle iowait irq softirq steal (guest is inside user).
            let v: Vec<u64> = parts.take(8).filter_map(|x| x.parse().ok()).collect();
            if v.len() == 8 {
                let total: u64 = v.iter().sum();
                t.busy += total - v[3] - v[4];
                t.total += total;
                t.task += v[0] + v[1] + v[2];
            }
        }
        t
    }

    /// Busy share (%) of the interval from `self` to `later`.
    pub fn busy_pct(&self, later: &CpuTimes) -> f64 {
        pct(later.busy - self.busy, later.total - self.total)
    }

    /// Task (process-charged) share (%) of the interval from `self` to `later`.
    pub fn task_pct(&self, later: &CpuTimes) -> f64 {
        pct(later.task - self.task, later.total - self.total)
    }
}

fn pct(part: u64, total: u64) -> f64 {
    100.0 * part as f64 / total.max(1) as f64
}

/// Waits up to `max_wait` seconds until every CPU of `cpus` is below [`QUIET_PCT`] busy (in
/// 0.5 s samples), so that other work on a shared machine does not land inside a run; returns
/// the busiest CPU's share in the last sample (0 without waiting).
pub fn wait_quiet(cpus: &[usize], max_wait: f64) -> f64 {
    if max_wait <= 0.0 {
        return 0.0;
    }
    let end = Instant::now() + Duration::from_secs_f64(max_wait);
    loop {
        let before: Vec<CpuTimes> = cpus.iter().map(|c| CpuTimes::read(&[*c])).collect();
        thread::sleep(Duration::from_millis(500));
        let busiest = cpus
            .iter()
            .zip(&before)
            .map(|(c, b)| b.busy_pct(&CpuTimes::read(&[*c])))
            .fold(0.0, f64::max);
        if busiest < QUIET_PCT || Instant::now() >= end {
            return busiest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_visible() {
        let me = std::process::id();
        assert!(rss_kib(&[me]) > 0);
        assert!(process_cpu_split(me).is_some());
        assert_eq!(ppid(me), Some(std::os::unix::process::parent_id()));
        let t = CpuTimes::read(&[0]);
        assert!(t.total > 0 && t.busy <= t.total && t.task <= t.busy);
    }

    #[test]
    fn spinning_child_is_charged_cpu() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let pid = child.id();
        thread::sleep(Duration::from_millis(300));
        let cpu = process_cpu_split(pid).unwrap_or_default();
        child.kill().unwrap();
        child.wait().unwrap();
        // A shell loop runs in user mode: that side must have grown.
        assert!(
            cpu.user_s > 0.0,
            "no user CPU charged to a busy shell: {cpu:?}"
        );
        assert!(cpu.sys_s >= 0.0);
    }
}
