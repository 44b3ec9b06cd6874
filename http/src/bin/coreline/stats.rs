//! `coreline stats URL [--count N]`: polls an admin listener's `/metrics` once a second
//! and prints the percentile table and each core's share of the connections (redrawn in
//! place on a terminal).
//!
//! Whatever answers at URL is not trusted: at most [`MAX_RESPONSE`] bytes are read, and
//! text from it is printed only through `metrics::printable` (no terminal escapes).

use std::io::{IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use coreline_http::metrics::{
    printable, render_split, render_table, rows_from_prometheus, split_from_prometheus,
};

use crate::metrics_args::Stats;

/// Runs the poll loop; `Err` is a one-line reason (unreachable, not an admin listener).
pub fn run(stats: &Stats) -> Result<(), String> {
    let live = std::io::stdout().is_terminal();
    let mut printed = 0u64;
    loop {
        let text = fetch(stats.addr)?;
        let rows = rows_from_prometheus(&text)?;
        if rows.is_empty() {
            return Err(format!(
                "http://{}/metrics has no coreline latency series",
                stats.addr
            ));
        }
        let title = format!("coreline stats http://{} (every 1 s)", stats.addr);
        let table = render_table(&title, &rows);
        let split = render_split(&split_from_prometheus(&text));
        let mut out = std::io::stdout().lock();
        let clear = if live { "\x1b[H\x1b[2J" } else { "" };
        let _ = writeln!(out, "{clear}{table}\n{split}");
        let _ = out.flush();
        printed += 1;
        if stats.count.is_some_and(|n| printed >= n) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The most bytes read from one `/metrics` response: its text is about 5 KiB per core of
/// the observed server (plus as much for the merged `all`), so this leaves room for
/// hundreds of cores.
const MAX_RESPONSE: u64 = 4 << 20;

/// GET /metrics over a fresh connection; the body if the status is 200.
fn fetch(addr: SocketAddr) -> Result<String, String> {
    let unreachable = |e: std::io::Error| format!("cannot reach http://{addr}/metrics: {e}");
    let mut conn =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(unreachable)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(unreachable)?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).map_err(unreachable)?;
    let mut raw = Vec::new();
    (&mut conn)
        .take(MAX_RESPONSE + 1)
        .read_to_end(&mut raw)
        .map_err(unreachable)?;
    if raw.len() as u64 > MAX_RESPONSE {
        return Err(format!(
            "http://{addr}/metrics answered more than {} MiB",
            MAX_RESPONSE >> 20
        ));
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("http://{addr}/metrics: not an HTTP response"))?;
    let status = head.lines().next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200") {
        let status: String = status.chars().take(80).collect();
        let status = printable(&status);
        return Err(format!("http://{addr}/metrics answered '{status}'"));
    }
    Ok(body.to_string())
}
