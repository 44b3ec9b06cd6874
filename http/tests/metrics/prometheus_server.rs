//! A real Prometheus server (the Debian package `prometheus`) scrapes the admin listener on
//! loopback, and its HTTP API answers queries over what it scraped: the responses counter
//! summed over cores, and `histogram_quantile` over the service-time buckets. Skipped,
//! with the reason printed, when the `prometheus` binary is not installed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::metrics::start_observed;
use crate::common::Client;
use crate::{handler, one_core};

const PROMETHEUS: &str = "prometheus";

/// Kills the Prometheus server this test started when the test ends, however it ends.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_loopback_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// Percent-encodes a query for a URL's query string.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query's single result, or `None` (no result yet, or the
/// server is not up yet).
fn query(api: SocketAddr, promql: &str) -> Option<f64> {
    let mut s = TcpStream::connect(api).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "GET /api/v1/query?query={} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n",
        encode(promql)
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8_lossy(&raw);
    let (_, body) = raw.split_once("\r\n\r\n")?;
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let result = json["data"]["result"].as_array()?;
    let [one] = result.as_slice() else {
        return None;
    };
    one["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_prometheus_server_scrapes_and_queries_the_histograms() {
    let version = Command::new(PROMETHEUS).arg("--version").output();
    if !version.is_ok_and(|o| o.status.success()) {
        println!("skipped: no `{PROMETHEUS}` binary (Debian package prometheus)");
        return;
    }
    let (server, admin) = start_observed(one_core(), || handler);
    let mut c = Client::connect(server.addr);
    for _ in 0..5 {
        let res = c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").response(false);
        assert_eq!(res.status, 200);
    }

    let dir = std::env::temp_dir().join(format!("coreline-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: coreline\n    \
             static_configs:\n      - targets: ['{}']\n",
            admin.addr
        ),
    )
    .unwrap();
    let api = free_loopback_port();
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={api}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let _prometheus = Started(child);

    let ok = "sum(coreline_http_responses_total{class=\"2xx\",route=\"handler\"})";
    let p99 = "histogram_quantile(0.99, sum by (le) (coreline_http_service_seconds_bucket))";
    let until = Instant::now() + Duration::from_secs(60);
    let (responses, quantile) = loop {
        if let (Some(r), Some(q)) = (query(api, ok), query(api, p99)) {
            break (r, q);
        }
        assert!(
            Instant::now() < until,
            "no series in Prometheus within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(responses, 5.0);
    // Each of the 5 took more than 0 and at most 10 s (the largest finite bucket).
    assert!(quantile > 0.0 && quantile <= 10.0, "p99 {quantile}");
    drop(_prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}
