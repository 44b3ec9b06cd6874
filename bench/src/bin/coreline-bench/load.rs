//! The load of one run, as a command line for `coreline-load` or `wrk`, and the result read
//! back into one shape: coreline-load's `--json` keys; wrk is made to print the same keys by
//! a generated Lua `done()` (closed loop only, and its latencies are not corrected for
//! coordinated omission).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::args::LoadTool;
use crate::fail::{run, Fail};

/// One run's load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Full URL.
    pub url: String,
    /// Connections.
    pub connections: usize,
    /// Seconds.
    pub duration: u64,
    /// Open-loop rate (requests/s in total); `None`: closed loop.
    pub rate: Option<f64>,
    /// Requests per write.
    pub pipeline: usize,
    /// A new connection per request.
    pub close: bool,
    /// Resume TLS sessions (with `close` over https).
    pub tls_resume: bool,
    /// Client CPUs.
    pub cpus: Vec<usize>,
}

/// What a load tool reported.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Responses received.
    pub requests: u64,
    /// Response bytes received.
    pub bytes: u64,
    /// Requests per second.
    pub requests_per_sec: f64,
    /// Bytes per second.
    pub bytes_per_sec: f64,
    /// Errors by kind: connect, read, write, timeout, status, parse.
    pub errors: BTreeMap<String, u64>,
    /// Latency in µs: mean, p50, p90, p99, p99.9, p99.99, max.
    pub latency_us: BTreeMap<String, f64>,
}

impl LoadResult {
    /// All errors of every kind.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The latency keys, in report order.
pub const LATENCY_KEYS: [&str; 7] = ["mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"];
/// The error kinds of coreline-load's JSON.
pub const ERROR_KINDS: [&str; 6] = ["connect", "read", "write", "timeout", "status", "parse"];

fn cpu_list(cpus: &[usize]) -> String {
    let v: Vec<String> = cpus.iter().map(usize::to_string).collect();
    v.join(",")
}

/// The command line (under `taskset -c CPUS`) for `tool` with binary `bin`; `work` is a
/// scratch directory for the JSON / Lua files; `plot` an SVG the tool should draw, if any.
pub fn command(
    tool: LoadTool,
    bin: &Path,
    spec: &LoadSpec,
    work: &Path,
    plot: Option<&Path>,
) -> Vec<String> {
    let mut cmd = vec![
        "taskset".to_string(),
        "-c".into(),
        cpu_list(&spec.cpus),
        bin.display().to_string(),
    ];
    match tool {
        LoadTool::CorelineLoad => {
            cmd.extend([
                "-c".into(),
                spec.connections.to_string(),
                "-d".into(),
                spec.duration.to_string(),
            ]);
            if let Some(rate) = spec.rate {
                cmd.extend(["-R".into(), format!("{rate:.0}")]);
            }
            if spec.pipeline > 1 {
                cmd.extend(["--pipeline".into(), spec.pipeline.to_string()]);
            }
            if spec.close {
                cmd.push("--close".into());
            }
            if !spec.tls_resume && spec.url.starts_with("https:") {
                cmd.push("--no-tls-resume".into());
            }
            cmd.extend(["--cpus".into(), cpu_list(&spec.cpus)]);
            cmd.extend([
                "--json".into(),
                work.join("load.json").display().to_string(),
            ]);
            if let Some(p) = plot {
                cmd.extend(["--plot".into(), p.display().to_string()]);
            }
            cmd.push("--quiet".into());
        }
        LoadTool::Wrk => {
            let threads = spec.cpus.len().min(spec.connections).max(1);
            cmd.extend([
                format!("-t{threads}"),
                format!("-c{}", spec.connections),
                format!("-d{}s", spec.duration),
            ]);
            cmd.extend(["--timeout".into(), "10s".into()]);
            if spec.close {
                cmd.extend(["-H".into(), "Connection: close".into()]);
            }
            cmd.extend(["-s".into(), work.join("report.lua").display().to_string()]);
        }
    }
    cmd.push(spec.url.clone());
    cmd
}

/// Prepares `work` for a run of `tool` (wrk: the Lua script with pipelining and the report).
pub fn prepare(tool: LoadTool, spec: &LoadSpec, work: &Path) -> Result<(), Fail> {
    let _ = fs::remove_file(work.join("load.json"));
    if tool == LoadTool::Wrk {
        let script = wrk_script(spec.pipeline);
        fs::write(work.join("report.lua"), script)
            .map_err(|e| run(format!("{}: {e}", work.display())))?;
    }
    Ok(())
}

/// Reads the result of a finished run: coreline-load's JSON file, or wrk's report line.
pub fn parse(tool: LoadTool, stdout: &str, work: &Path) -> Result<LoadResult, Fail> {
    let json: Value = match tool {
        LoadTool::CorelineLoad => {
            let file = work.join("load.json");
            let text = fs::read_to_string(&file)
                .map_err(|e| run(format!("coreline-load wrote no {}: {e}", file.display())))?;
            serde_json::from_str(&text).map_err(|e| run(format!("{}: {e}", file.display())))?
        }
        LoadTool::Wrk => {
            let line = stdout
                .lines()
                .find_map(|l| l.strip_prefix(REPORT_TAG))
                .ok_or_else(|| run(format!("wrk printed no report: {}", stdout.trim())))?;
            serde_json::from_str(line).map_err(|e| run(format!("wrk report: {e}")))?
        }
    };
    from_json(&json).ok_or_else(|| {
        run(format!(
            "{} result lacks the expected keys: {json}",
            tool.name()
        ))
    })
}

/// The result from a JSON object with coreline-load's `--json` keys.
pub fn from_json(v: &Value) -> Option<LoadResult> {
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    let mut r = LoadResult {
        requests: v.get("requests")?.as_u64()?,
        bytes: v.get("bytes")?.as_u64()?,
        requests_per_sec: num(v, "requests_per_sec")?,
        bytes_per_sec: num(v, "bytes_per_sec")?,
        ..LoadResult::default()
    };
    let errors = v.get("errors")?;
    for k in ERROR_KINDS {
        r.errors.insert(k.into(), errors.get(k)?.as_u64()?);
    }
    let lat = v.get("latency_us")?;
    for k in LATENCY_KEYS {
        // null: a percentile the tool could not give (wrk's percentile() returns 0 for high
        // percentiles of some pipelined runs; the script reports that as null).
        let x = match lat.get(k)? {
            Value::Null => f64::NAN,
            x => x.as_f64()?,
        };
        r.latency_us.insert(k.into(), x);
    }
    Some(r)
}

/// Marks wrk's report line among its own output.
const REPORT_TAG: &str = "CORELINE_BENCH_REPORT ";

/// A wrk script: `depth` requests per write (as ../shared/reference/pipeline.lua does for
/// 16), and a `done()` that prints coreline-load's JSON keys (wrk reports µs).
fn wrk_script(depth: usize) -> String {
    let mut s = String::new();
    if depth > 1 {
        s += &format!(
            "local depth = {depth}\ninit = function(args)\n  local r = {{}}\n  \
             for i = 1, depth do r[i] = wrk.format(nil) end\n  req = table.concat(r)\nend\n\
             request = function() return req end\n"
        );
    }
    s += &format!(
        "done = function(summary, latency, requests)\n  local s = summary.duration / 1e6\n  \
         local e = summary.errors\n  local function p(q) local v = latency:percentile(q) \
         if v == 0 then return 'null' end return v end\n  \
         io.write(string.format('{REPORT_TAG}{{\"requests\":%d,\"bytes\":%d,\"requests_per_sec\":%f,\
         \"bytes_per_sec\":%f,\"errors\":{{\"connect\":%d,\"read\":%d,\"write\":%d,\"timeout\":%d,\
         \"status\":%d,\"parse\":0}},\"latency_us\":{{\"mean\":%f,\"p50\":%s,\"p90\":%s,\"p99\":%s,\
         \"p99.9\":%s,\"p99.99\":%s,\"max\":%f}}}}\\n',\n    summary.requests, summary.bytes, \
         summary.requests / s, summary.bytes / s, e.connect, e.read, e.write, e.timeout, e.status,\n    \
         latency.mean, p(50), p(90), p(99), p(99.9), p(99.99), latency.max))\nend\n"
    );
    s
}

/// Where coreline-load drew its plot for a run, if it did.
pub fn plot_file(work: &Path, scenario: &str, server: &str) -> PathBuf {
    work.join(format!("plot-{scenario}-{server}.svg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LoadSpec {
        LoadSpec {
            url: "https://127.0.0.1:1/plaintext".into(),
            connections: 64,
            duration: 3,
            rate: Some(1000.4),
            pipeline: 1,
            close: true,
            tls_resume: false,
            cpus: vec![1],
        }
    }

    #[test]
    fn coreline_load_command_follows_the_contract() {
        let c = command(
            LoadTool::CorelineLoad,
            Path::new("/b/coreline-load"),
            &spec(),
            Path::new("/w"),
            None,
        );
        let c = c.join(" ");
        assert_eq!(
            c,
            "taskset -c 1 /b/coreline-load -c 64 -d 3 -R 1000 --close --no-tls-resume --cpus 1 \
             --json /w/load.json --quiet https://127.0.0.1:1/plaintext"
        );
    }

    #[test]
    fn contract_json_is_read_and_incomplete_json_refused() {
        let text = r#"{"url":"http://x/","connections":2,"duration_s":1.0,"rate":null,"pipeline":1,
            "close":false,"tls":false,"cpus":[1],"requests":10,
            "errors":{"connect":0,"read":1,"write":0,"timeout":0,"status":2,"parse":0},
            "bytes":1000,"requests_per_sec":10.0,"bytes_per_sec":1000.0,
            "latency_us":{"mean":5.0,"p50":4,"p90":6,"p99":9,"p99.9":10,"p99.99":11,"max":12}}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let r = from_json(&v).unwrap();
        assert_eq!((r.requests, r.bytes, r.error_total()), (10, 1000, 3));
        assert_eq!(r.latency_us["p99.9"], 10.0);
        let mut v2 = v.clone();
        v2["latency_us"].as_object_mut().unwrap().remove("p99.9");
        assert!(from_json(&v2).is_none());
        v2["latency_us"]["p99.9"] = Value::Null;
        assert!(from_json(&v2).unwrap().latency_us["p99.9"].is_nan());
    }

    #[test]
    fn wrk_script_pipelines_only_when_asked() {
        assert!(!wrk_script(1).contains("depth"));
        assert!(wrk_script(16).contains("local depth = 16"));
        assert!(wrk_script(1).contains(REPORT_TAG));
    }
}
