//! The load of one run, as a command line for `coreline-load` or `wrk`, and the result read
//! back into one shape, [`LoadSummary`]: coreline-load's `--json` document holds one; wrk is made
//! to print one by a generated Lua `done()` (closed loop only, and its latencies are not
//! corrected for coordinated omission).

use std::fs;
use std::path::{Path, PathBuf};

use coreline_bench::{LoadReport, LoadSummary};

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
    /// A JSON body to POST (`None`: GET).
    pub json_body: Option<&'static str>,
    /// Client CPUs.
    pub cpus: Vec<usize>,
}

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
            if let Some(body) = spec.json_body {
                cmd.extend(["-m".into(), "POST".into()]);
                cmd.extend(["-H".into(), "Content-Type: application/json".into()]);
                cmd.extend(["--body".into(), body.into()]);
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
        let script = wrk_script(spec.pipeline, spec.json_body);
        fs::write(work.join("report.lua"), script)
            .map_err(|e| run(format!("{}: {e}", work.display())))?;
    }
    Ok(())
}

/// Reads the result of a finished run: coreline-load's `--json` file (a [`LoadReport`] of this
/// tree's schema version), or the report line wrk's generated script printed.
pub fn parse(tool: LoadTool, stdout: &str, work: &Path) -> Result<LoadSummary, Fail> {
    match tool {
        LoadTool::CorelineLoad => {
            let file = work.join("load.json");
            let text = fs::read_to_string(&file)
                .map_err(|e| run(format!("coreline-load wrote no {}: {e}", file.display())))?;
            LoadReport::from_json(&text)
                .map(|r| r.summary)
                .map_err(|e| run(format!("{}: {e}", file.display())))
        }
        LoadTool::Wrk => {
            let line = stdout
                .lines()
                .find_map(|l| l.strip_prefix(REPORT_TAG))
                .ok_or_else(|| run(format!("wrk printed no report: {}", stdout.trim())))?;
            serde_json::from_str(line).map_err(|e| run(format!("wrk report: {e}: {line}")))
        }
    }
}

/// Marks wrk's report line among its own output.
const REPORT_TAG: &str = "CORELINE_BENCH_REPORT ";

/// A wrk script: a JSON POST when `json_body` is given, `depth` requests per write (as
/// bench/wrk/pipeline.lua does for 16), and a `done()` that prints a [`LoadSummary`] (wrk
/// reports µs).
fn wrk_script(depth: usize, json_body: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(body) = json_body {
        // A Lua long string: the JSON's quotes need no escaping.
        s += &format!(
            "wrk.method = \"POST\"\nwrk.body = [[{body}]]\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n"
        );
    }
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
            json_body: None,
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
    fn coreline_load_json_is_read_and_another_schema_refused() {
        let work = std::env::temp_dir().join(format!("coreline-bench-load-{}", std::process::id()));
        fs::create_dir_all(&work).unwrap();
        let text = r#"{"schema_version":1,"url":"http://x/","connections":2,"duration_s":1.0,
            "rate":null,"pipeline":1,"close":false,"tls":false,"cpus":[1],"requests":10,
            "errors":{"connect":0,"read":1,"write":0,"timeout":0,"status":2,"parse":0},
            "bytes":1000,"requests_per_sec":10.0,"bytes_per_sec":1000.0,
            "latency_us":{"mean":5.0,"p50":4,"p90":6,"p99":9,"p99.9":10,"p99.99":11,"max":12},
            "latency_over_ms":{"200":0,"1000":0,"3000":0},"first_errors":{},"error_causes":{},
            "requests_due":null,"interrupted":false,"tls_resume":true,"method":"GET",
            "fastopen":false}"#;
        fs::write(work.join("load.json"), text).unwrap();
        let r = parse(LoadTool::CorelineLoad, "", &work).unwrap();
        assert_eq!((r.requests, r.bytes, r.errors.total()), (10, 1000, 3));
        assert_eq!(r.latency_us.p99_9, 10.0);
        fs::write(
            work.join("load.json"),
            text.replace(r#""schema_version":1"#, r#""schema_version":0"#),
        )
        .unwrap();
        assert!(parse(LoadTool::CorelineLoad, "", &work).is_err());
        fs::remove_dir_all(&work).unwrap();
    }

    #[test]
    fn wrk_report_line_is_read_with_null_percentiles() {
        let out = format!(
            "Running 1s test\n{REPORT_TAG}{{\"requests\":5,\"bytes\":50,\"requests_per_sec\":5.0,\
             \"bytes_per_sec\":50.0,\"errors\":{{\"connect\":0,\"read\":0,\"write\":0,\
             \"timeout\":0,\"status\":0,\"parse\":0}},\"latency_us\":{{\"mean\":1.0,\
             \"p50\":1,\"p90\":1,\"p99\":null,\"p99.9\":null,\"p99.99\":null,\"max\":2.0}}}}\n"
        );
        let r = parse(LoadTool::Wrk, &out, Path::new("/nonexistent")).unwrap();
        assert_eq!(r.requests, 5);
        assert!(r.latency_us.p99.is_nan());
    }

    #[test]
    fn wrk_script_pipelines_only_when_asked() {
        assert!(!wrk_script(1, None).contains("depth"));
        assert!(wrk_script(16, None).contains("local depth = 16"));
        assert!(wrk_script(1, None).contains(REPORT_TAG));
        let post = wrk_script(1, Some(r#"{"a":1}"#));
        assert!(post.starts_with("wrk.method = \"POST\"\nwrk.body = [[{\"a\":1}]]\n"));
    }
}
