//! Facts about the host for the report header (date, tool versions, the tree's commit) and
//! the run's scratch directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::args::CompareArgs;
use crate::fail::{run, Fail};
use crate::paths;
use crate::servers::Kind;

/// nginx's and wrk's versions (when installed), and the workspace commit.
pub fn versions(a: &CompareArgs) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let first_line = |cmd: &str, arg: &str| {
        Command::new(cmd).arg(arg).output().ok().and_then(|o| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.lines()
                .next()
                .map(|l| l.split(" [").next().unwrap_or(l).trim().to_string())
        })
    };
    if a.servers.contains(&Kind::Nginx) {
        if let Some(n) = first_line("nginx", "-v") {
            v.insert(
                "nginx".into(),
                n.trim_start_matches("nginx version: ").to_string(),
            );
        }
    }
    if let Some(w) = first_line("wrk", "-v") {
        v.insert("wrk".into(), w);
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(paths::workspace())
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    // Binaries from elsewhere may be of another tree than the checkout's `tree` below.
    if let Some(dir) = &a.bin_dir {
        v.insert(
            "binaries".into(),
            format!(
                "from --bin-dir {} (the tree below is the harness's)",
                dir.display()
            ),
        );
    }
    if let Some(head) = git(&["rev-parse", "--short", "HEAD"]) {
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|o| !o.stdout.is_empty());
        v.insert(
            "tree".into(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&head.stdout).trim(),
                if dirty { " + uncommitted changes" } else { "" }
            ),
        );
    }
    v
}

/// "YYYY-MM-DD HH:MM:SS UTC" (civil-from-days, so no date crate is needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A scratch directory removed on drop (servers are stopped before it goes).
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/coreline-compare-PID` afresh.
    pub fn create() -> Result<TempDir, Fail> {
        let p = std::env::temp_dir().join(format!("coreline-compare-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).map_err(|e| run(format!("{}: {e}", p.display())))?;
        Ok(TempDir(p))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_now_has_the_documented_shape() {
        let d = utc_now();
        assert_eq!(d.len(), 23, "{d}");
        assert!(d.starts_with("20") && d.ends_with(" UTC"));
    }

    #[test]
    fn binaries_from_another_directory_are_named() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            CompareArgs::parse(&args).unwrap()
        };
        let elsewhere = versions(&parse(&["--bin-dir", "/opt/old", "--servers", "coreline"]));
        assert!(elsewhere["binaries"].contains("/opt/old"), "{elsewhere:?}");
        assert!(!versions(&parse(&["--servers", "coreline"])).contains_key("binaries"));
    }
}
