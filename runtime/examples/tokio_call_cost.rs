//! The cost of one `TokioBridge::run` call from a core: a trivial future (no I/O) handed to
//! the tokio runtime beside the cores and its output awaited on the core, i.e. the
//! handoff alone. Measured on one core as sequential round trips (latency) and with 64
//! calls in flight (throughput), beside `spawn_blocking` (the same kind of handoff to the
//! blocking pool) for reference. Writes a Markdown results file:
//!
//! ```sh
//! cargo run --release -p coreline-runtime --features tokio --example tokio_call_cost -- \
//!     bench/results/tokio-call-cost.md
//! ```
//!
//! The file records the load average before and after: figures taken while other work
//! ran on the machine are slower than a quiet run's.

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coreline_runtime::tokio_compat::TokioBridge;
use coreline_runtime::{spawn_blocking, spawn_local, Cores, Runtime};
use hdrhistogram::Histogram;

/// Sequential calls per measurement (after as many warm-up calls).
const SEQUENTIAL: u32 = 20_000;
/// Calls in flight at once in the throughput measurement.
const IN_FLIGHT: u32 = 64;
/// Rounds of `IN_FLIGHT` calls in the throughput measurement.
const ROUNDS: u32 = 500;

/// One measurement's figures.
struct Figures {
    what: &'static str,
    latency_ns: Histogram<u64>,
    /// Calls per second with `IN_FLIGHT` in flight.
    throughput: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: tokio_call_cost RESULTS.md")?;
    let load_before = loadavg();
    let tokio = TokioBridge::start()?;
    let figures = Runtime::builder()
        .cores(Cores::Count(1))
        .build()?
        .block_on(move || async move {
            let tokio_run = measure("`TokioBridge::run`", |i| tokio.run(async move { i })).await;
            let blocking = measure("`spawn_blocking` (reference)", |i| {
                let call = spawn_blocking(move || i);
                async move { call.await.unwrap() }
            })
            .await;
            vec![tokio_run, blocking]
        })?;
    let load_after = loadavg();

    let mut md = String::new();
    writeln!(
        md,
        "# Cost of a call through `TokioBridge` (runtime feature `tokio`)\n"
    )?;
    writeln!(md, "- command: `cargo run --release -p coreline-runtime --features tokio --example tokio_call_cost -- {out}`")?;
    writeln!(md, "- date: {}", utc_now())?;
    writeln!(md, "- kernel: {}", kernel())?;
    writeln!(
        md,
        "- CPUs: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )?;
    writeln!(
        md,
        "- load average (1 min) before / after: {load_before} / {load_after}"
    )?;
    writeln!(md, "- one core; the future is `async move {{ i }}` (no I/O): the handoff alone; latency over {SEQUENTIAL} sequential calls, throughput over {ROUNDS} rounds of {IN_FLIGHT} calls in flight\n")?;
    writeln!(
        md,
        "| call | mean µs | p50 µs | p99 µs | max µs | calls/s with {IN_FLIGHT} in flight |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|")?;
    for f in &figures {
        let us = |ns: u64| ns as f64 / 1000.0;
        writeln!(
            md,
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} |",
            f.what,
            f.latency_ns.mean() / 1000.0,
            us(f.latency_ns.value_at_quantile(0.5)),
            us(f.latency_ns.value_at_quantile(0.99)),
            us(f.latency_ns.max()),
            f.throughput,
        )?;
    }
    std::fs::write(&out, &md)?;
    print!("{md}");
    Ok(())
}

/// Sequential latency and in-flight throughput of `call(i)`.
async fn measure<F, Fut>(what: &'static str, call: F) -> Figures
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = u32> + 'static,
{
    for i in 0..SEQUENTIAL {
        assert_eq!(call(i).await, i);
    }
    let mut latency_ns = Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("valid bounds");
    for i in 0..SEQUENTIAL {
        let start = Instant::now();
        assert_eq!(call(i).await, i);
        latency_ns.saturating_record(start.elapsed().as_nanos() as u64);
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let calls: Vec<_> = (0..IN_FLIGHT).map(|i| spawn_local(call(i))).collect();
        for (i, c) in calls.into_iter().enumerate() {
            assert_eq!(c.await.unwrap(), i as u32);
        }
    }
    let throughput = f64::from(ROUNDS * IN_FLIGHT) / start.elapsed().as_secs_f64();
    Figures {
        what,
        latency_ns,
        throughput,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "?".into(), |s| s.trim().to_string())
}

/// Now as `YYYY-MM-DD hh:mm:ss UTC` (the civil-from-days conversion for the proleptic
/// Gregorian calendar).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
