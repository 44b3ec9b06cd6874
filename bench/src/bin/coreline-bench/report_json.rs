//! The JSON report: everything the Markdown has, plus every run (attempts, exact load
//! command, load process CPU, other processes' share, RSS peak).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::args::CompareArgs;
use crate::report::{Context, Ratios};
use crate::servers::Kind;
use crate::session::{Outcome, Run};
use crate::stats::Summary;

fn summary_json(x: &Summary) -> Value {
    json!({"rps": x.rps, "rps_min": x.rps_min, "rps_max": x.rps_max, "bimodal": x.bimodal(), "bytes_per_sec": x.bytes_per_sec, "latency_us": x.latency_us, "cpu_us_per_req": x.cpu_us_per_req,
        "user_us_per_req": x.user_us_per_req, "sys_us_per_req": x.sys_us_per_req, "req_per_cpu_s": x.req_per_cpu_s, "server_core_pct": x.server_core_pct, "client_core_pct": x.client_core_pct,
        "rss_kib": x.rss_kib, "limit": x.limit, "errors": x.errors, "requests": x.requests})
}

fn run_json(r: &Run) -> Value {
    let m = &r.m;
    json!({"rep": r.rep, "attempt": r.attempt, "busy_before_pct": r.busy_before_pct, "disturbed": r.disturbed, "command": r.command,
        "requests": m.load.requests, "bytes": m.load.bytes, "rps": m.load.requests_per_sec, "bytes_per_sec": m.load.bytes_per_sec,
        "latency_us": m.load.latency_us, "errors": m.load.errors, "wall_s": m.wall_s, "server_cpu_s": m.server_cpu_s,
        "server_user_s": m.server_user_s, "server_sys_s": m.server_sys_s, "cpu_us_per_req": m.cpu_us_per_req(),
        "user_us_per_req": m.user_us_per_req(), "sys_us_per_req": m.sys_us_per_req(), "req_per_cpu_s": m.req_per_cpu_s(), "server_core_pct": m.server_core_pct,
        "server_cpus_busy_pct": m.server_cpus_busy_pct, "client_core_pct": m.client_core_pct, "load_process_pct": m.load_process_pct,
        "other_pct": m.other_pct, "rss_kib": m.rss_kib, "rss_peak_kib": m.rss_peak_kib})
}

/// The whole comparison as JSON: header, scenarios, skips, medians, ratios and every run.
pub fn to_json(
    a: &CompareArgs,
    cx: &Context,
    o: &Outcome,
    sum: &BTreeMap<(String, Kind), Summary>,
    ratios: &Ratios,
) -> Value {
    let key = |s: &str, k: Kind| format!("{s}/{}", k.name());
    let scenarios: serde_json::Map<String, Value> = a.scenarios.iter().map(|s| (s.name.to_string(), json!({
        "path": s.path(), "connections": s.connections, "pipeline": s.pipeline, "close": s.close, "tls": s.tls,
        "tls_resume": s.resume, "open_fraction": s.open_fraction, "rate": o.rates.get(s.name)}))).collect();
    json!({
        "command": cx.command, "date": cx.date, "kernel": cx.kernel,
        "congestion_control": cx.congestion_control, "cpus": cx.cpus, "versions": cx.versions,
        "load": a.load.name(), "server_cpus": a.server_cpus, "client_cpus": a.client_cpus, "load_shares_server_cpu": a.load_shares_server_cpu, "duration_s": a.duration,
        "repeats": a.repeats, "quick": a.quick, "servers": cx.servers.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "scenarios": scenarios, "capacity_rps": o.capacity.as_ref().map(|c| c.0), "notes": cx.server_notes.iter().chain(&o.notes).collect::<Vec<_>>(),
        "failed": o
            .failed
            .iter()
            .map(|((s, k), w)| (key(s, *k), json!(w)))
            .collect::<serde_json::Map<_, _>>(),
        "skipped": o.skipped.iter().map(|((s, k), w)| (key(s, *k), json!(w))).collect::<serde_json::Map<_, _>>(),
        "median": sum.iter().map(|((s, k), x)| (key(s, *k), summary_json(x))).collect::<serde_json::Map<_, _>>(),
        "ratios": ratios.iter().map(|((s, k), r)| (format!("{s}/{}/{}", crate::report::base_name(a), k.name()), json!({"rps": r.rps, "req_per_cpu_s": r.req_per_cpu_s,
            "p99": r.p99, "headline": r.headline, "headline_value": r.headline_value()}))).collect::<serde_json::Map<_, _>>(),
        "runs": o.runs.iter().map(|((s, k), v)| (key(s, *k), Value::Array(v.iter().map(run_json).collect()))).collect::<serde_json::Map<_, _>>(),
    })
}
