//! The JSON document of one `coreline-load` run (`--json FILE`), typed and versioned.
//!
//! The key names are the documented ones (bench/README.md, "Output"); `schema_version` says
//! which layout a file has, so that a reader built from another tree refuses it with a clear
//! message instead of misreading it. Add a key: raise [`LOAD_REPORT_SCHEMA_VERSION`] and give
//! the key a default, so files of the versions before it still read
//! ([`OLDEST_READABLE_SCHEMA_VERSION`] stays). Rename, remove or change the meaning of one:
//! raise both.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The layout version written into (and required from) every [`LoadReport`].
pub const LOAD_REPORT_SCHEMA_VERSION: u32 = 2;

/// The oldest layout [`LoadReport::from_json`] reads: version 1 lacks `status_counts`,
/// `requests_limit` and `warmup_s` (read as empty, `None` and 0).
pub const OLDEST_READABLE_SCHEMA_VERSION: u32 = 1;

/// Everything `coreline-load --json` writes about a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// [`LOAD_REPORT_SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The target URL.
    pub url: String,
    /// Connections (`-c`).
    pub connections: usize,
    /// Measured run time in seconds: to the end of `-d`, to the last response if later, or to
    /// the interrupt.
    pub duration_s: f64,
    /// Open-loop rate in requests/s (`-R`); `None` for a closed loop.
    pub rate: Option<f64>,
    /// Requests outstanding per connection (`--pipeline`).
    pub pipeline: usize,
    /// A new connection per request (`--close`).
    pub close: bool,
    /// Whether the URL is https.
    pub tls: bool,
    /// The CPUs the load ran on.
    pub cpus: Vec<usize>,
    /// Counts, rates and latencies: the part `coreline-bench` compares.
    #[serde(flatten)]
    pub summary: LoadSummary,
    /// Responses that took at least 200, 1,000 and 3,000 ms (keys are the milliseconds).
    pub latency_over_ms: BTreeMap<u64, u64>,
    /// The first message of each error kind seen.
    pub first_errors: BTreeMap<String, String>,
    /// I/O errors of each kind counted by cause (errno name, e.g. `ECONNREFUSED`).
    pub error_causes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Open loop: the requests that fell due before the end; `None` for a closed loop.
    pub requests_due: Option<u64>,
    /// Ctrl-C ended the run early.
    pub interrupted: bool,
    /// TLS sessions resumed (false with `--no-tls-resume`).
    pub tls_resume: bool,
    /// The request method.
    pub method: String,
    /// Connections opened with TCP Fast Open (`--fastopen`).
    pub fastopen: bool,
    /// Responses by status code (keys are the codes).
    #[serde(default)]
    pub status_counts: BTreeMap<u16, u64>,
    /// `-n`: the requests the run was to stop after; `None` without it.
    #[serde(default)]
    pub requests_limit: Option<u64>,
    /// `--warmup`: seconds of unmeasured load before the run (0 without it).
    #[serde(default)]
    pub warmup_s: f64,
}

impl LoadReport {
    /// Parses a `--json` document, refusing one of another schema version with a message
    /// that says which versions met.
    pub fn from_json(text: &str) -> Result<LoadReport, String> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u32>,
        }
        let version = serde_json::from_str::<Version>(text)
            .map_err(|e| e.to_string())?
            .schema_version;
        let readable = OLDEST_READABLE_SCHEMA_VERSION..=LOAD_REPORT_SCHEMA_VERSION;
        if !version.is_some_and(|v| readable.contains(&v)) {
            return Err(format!(
                "schema_version {} where {OLDEST_READABLE_SCHEMA_VERSION} to \
                 {LOAD_REPORT_SCHEMA_VERSION} is expected: coreline-load and coreline-bench \
                 come from different trees (rebuild both)",
                version.map_or("absent".to_string(), |v| v.to_string())
            ));
        }
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

/// The figures of a run that a comparison reads; `wrk` runs report the same keys (through a
/// generated Lua script), so both load tools end up in this one shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Responses completed (non-2xx/3xx ones included).
    pub requests: u64,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// Response bytes received (after TLS decryption).
    pub bytes: u64,
    /// `requests` ÷ `duration_s`.
    pub requests_per_sec: f64,
    /// `bytes` ÷ `duration_s`.
    pub bytes_per_sec: f64,
    /// Latency in µs.
    pub latency_us: LatencyUs,
}

/// Errors of one run by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// TCP connect or TLS handshake failed or timed out.
    pub connect: u64,
    /// Receive failed, a TLS error, or the server closed with requests outstanding.
    pub read: u64,
    /// Send failed.
    pub write: u64,
    /// Requests given up after `--timeout`.
    pub timeout: u64,
    /// Responses that are not 2xx/3xx (also counted in `requests`).
    pub status: u64,
    /// Malformed responses.
    pub parse: u64,
}

impl ErrorCounts {
    /// Each kind with its JSON key, in the documented order.
    pub fn by_kind(&self) -> [(&'static str, u64); 6] {
        [
            ("connect", self.connect),
            ("read", self.read),
            ("write", self.write),
            ("timeout", self.timeout),
            ("status", self.status),
            ("parse", self.parse),
        ]
    }

    /// All errors of every kind.
    pub fn total(&self) -> u64 {
        self.by_kind().iter().map(|(_, n)| n).sum()
    }
}

/// Latency statistics in µs. A percentile the tool could not give is NaN in memory and
/// `null` in JSON (wrk's `percentile()` returns 0 for high percentiles of some pipelined
/// runs; its script writes `null` then).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyUs {
    /// Mean.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// Median.
    #[serde(deserialize_with = "nan_if_null")]
    pub p50: f64,
    /// 90th percentile.
    #[serde(deserialize_with = "nan_if_null")]
    pub p90: f64,
    /// 99th percentile.
    #[serde(deserialize_with = "nan_if_null")]
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(rename = "p99.9", deserialize_with = "nan_if_null")]
    pub p99_9: f64,
    /// 99.99th percentile.
    #[serde(rename = "p99.99", deserialize_with = "nan_if_null")]
    pub p99_99: f64,
    /// Maximum.
    #[serde(deserialize_with = "nan_if_null")]
    pub max: f64,
}

impl LatencyUs {
    /// Each statistic with its JSON key, in the documented order.
    pub fn by_key(&self) -> [(&'static str, f64); 7] {
        [
            ("mean", self.mean),
            ("p50", self.p50),
            ("p90", self.p90),
            ("p99", self.p99),
            ("p99.9", self.p99_9),
            ("p99.99", self.p99_99),
            ("max", self.max),
        ]
    }
}

/// `null` → NaN (serde_json writes NaN as `null`, so the round trip holds).
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LoadReport {
        LoadReport {
            schema_version: LOAD_REPORT_SCHEMA_VERSION,
            url: "http://127.0.0.1:1/plaintext".into(),
            connections: 2,
            duration_s: 1.0,
            rate: None,
            pipeline: 1,
            close: false,
            tls: false,
            cpus: vec![1],
            summary: LoadSummary {
                requests: 10,
                errors: ErrorCounts {
                    read: 1,
                    status: 2,
                    ..ErrorCounts::default()
                },
                bytes: 1000,
                requests_per_sec: 10.0,
                bytes_per_sec: 1000.0,
                latency_us: LatencyUs {
                    mean: 5.0,
                    p50: 4.0,
                    p90: 6.0,
                    p99: 9.0,
                    p99_9: f64::NAN,
                    p99_99: 11.0,
                    max: 12.0,
                },
            },
            latency_over_ms: [(200, 0), (1000, 0), (3000, 0)].into(),
            first_errors: [("read".to_string(), "reset".to_string())].into(),
            error_causes: BTreeMap::new(),
            requests_due: None,
            interrupted: false,
            tls_resume: true,
            method: "GET".into(),
            fastopen: false,
            status_counts: [(200, 8), (503, 2)].into(),
            requests_limit: Some(10),
            warmup_s: 1.0,
        }
    }

    #[test]
    fn documented_keys_round_trip_with_null_for_a_missing_percentile() {
        let text = serde_json::to_string(&sample()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema_version"], LOAD_REPORT_SCHEMA_VERSION);
        assert_eq!(v["requests"], 10, "summary keys sit at the top level");
        assert_eq!(v["latency_us"]["p99.9"], serde_json::Value::Null);
        assert_eq!(v["latency_over_ms"]["1000"], 0);
        let back = LoadReport::from_json(&text).unwrap();
        assert!(back.summary.latency_us.p99_9.is_nan());
        assert_eq!(back.summary.errors.total(), 3);
        assert_eq!(back.url, sample().url);
        assert_eq!(v["status_counts"]["503"], 2);
        assert_eq!(back.status_counts, sample().status_counts);
    }

    #[test]
    fn a_schema_1_file_still_reads() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["schema_version"] = 1.into();
        let object = v.as_object_mut().unwrap();
        for added in ["status_counts", "requests_limit", "warmup_s"] {
            object.remove(added);
        }
        let old = LoadReport::from_json(&v.to_string()).unwrap();
        assert_eq!((old.schema_version, old.summary.requests), (1, 10));
        assert!(old.status_counts.is_empty() && old.requests_limit.is_none());
        assert_eq!(old.warmup_s, 0.0);
    }

    #[test]
    fn another_schema_version_is_refused_by_name() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["schema_version"] = 99.into();
        let err = LoadReport::from_json(&v.to_string()).unwrap_err();
        assert!(err.contains("schema_version 99"), "{err}");
        v.as_object_mut().unwrap().remove("schema_version");
        let err = LoadReport::from_json(&v.to_string()).unwrap_err();
        assert!(err.contains("absent"), "{err}");
    }
}
