//! Command-line parsing (clap): wrk-like flags into a checked [`Config`]. Every error is one
//! line that names the flag and what is wrong with it; `main` prints it and exits 2.

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use coreline_runtime::Cores;

use crate::url::Target;

/// Most requests a connection may keep outstanding (the request batches are pre-encoded
/// for every depth up to this, see `request.rs`).
pub const MAX_PIPELINE: usize = 256;

/// Most connections (far beyond what one machine's ports and file descriptors allow).
pub const MAX_CONNECTIONS: usize = 1_000_000;

/// How long a run with `-n` and without `-d` may take at most.
pub const REQUESTS_ONLY_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// The flags as given.
#[derive(Debug, Parser)]
#[command(
    name = "coreline-load",
    version,
    about = "An HTTP/1.1 load generator on coreline's runtime.",
    color = clap::ColorChoice::Never,
    args_override_self = true,
    help_template = "usage: {usage}\n\n{about-with-newline}\n{all-args}{after-help}"
)]
struct Flags {
    /// http://HOST:PORT/path or https://HOST:PORT/path
    #[arg(value_name = "URL", value_parser = Target::parse)]
    url: Target,
    /// Connections, split evenly across the cores.
    #[arg(short = 'c', long = "connections", value_name = "N", value_parser = count)]
    connections: usize,
    /// How long to send: seconds, or with a unit (500ms, 10s, 2m); optional with -n.
    #[arg(short = 'd', long = "duration", value_name = "T", value_parser = seconds,
          required_unless_present = "requests")]
    duration: Option<Duration>,
    /// Stop after N requests in total (after the warm-up), or at the end of -d if sooner.
    #[arg(short = 'n', long = "requests", value_name = "N", value_parser = count)]
    requests: Option<usize>,
    /// Send load for SECS whole seconds first and measure only what follows.
    #[arg(long, value_name = "SECS", value_parser = warmup, default_value = "0")]
    warmup: Duration,
    /// Open loop: RATE requests/s in total, each latency measured from the time its
    /// request was due (coordinated omission corrected); without it: closed loop, as fast
    /// as responses come back.
    #[arg(short = 'R', long = "rate", value_name = "RATE", value_parser = rate)]
    rate: Option<f64>,
    /// Requests outstanding per connection (at most 256).
    #[arg(long, value_name = "N", value_parser = count, default_value = "1")]
    pipeline: usize,
    /// A new connection per request (`Connection: close`; latency includes connect and,
    /// for https, the handshake).
    #[arg(long)]
    close: bool,
    /// Connect with TCP Fast Open (TCP_FASTOPEN_CONNECT): once the server gave a cookie,
    /// each new connection's request rides in its SYN (for --close runs; needs the
    /// server's listen option and sysctl).
    #[arg(long)]
    fastopen: bool,
    /// CPUs to run on, one core each: 1 / 0,1 / 0-3 (default: the second CPU this process
    /// may use, or the only one).
    #[arg(long, value_name = "LIST", value_parser = cpu_list, conflicts_with = "threads")]
    cpus: Option<::std::vec::Vec<usize>>, // one value (a plain `Vec` would mean "repeatable")
    /// Threads: one core each on the first N CPUs from the second on (as --cpus would
    /// list them); more than the CPUs this process may use runs one per CPU, with a warning.
    #[arg(short = 't', long = "threads", value_name = "N", value_parser = count)]
    threads: Option<usize>,
    /// Request method.
    #[arg(short = 'm', long = "method", value_name = "M", value_parser = method,
          default_value = "GET")]
    method: String,
    /// Add a request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'N: v'", value_parser = header)]
    headers: Vec<(String, String)>,
    /// Request body (sent with Content-Length).
    #[arg(long, value_name = "STRING")]
    body: Option<String>,
    /// Per-request timeout: counts an error and reconnects.
    #[arg(long, value_name = "T", value_parser = seconds, default_value = "10s")]
    timeout: Duration,
    /// Verify the server's certificate against these PEM roots; without it certificates
    /// are NOT verified (this is a benchmark tool).
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Full TLS handshake on every connection (default: resume sessions).
    #[arg(long)]
    no_tls_resume: bool,
    /// Write the results as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write an HdrHistogram interval log (one interval per second).
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,
    /// Write the latency percentile spectrum as an SVG plot.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// No live progress line (it is only shown when stderr is a terminal).
    #[arg(long)]
    quiet: bool,
    /// Provided receive buffers of 16 KiB per core, a power of two up to 32768 [default:
    /// two per connection, 32 to 1024].
    #[arg(long, value_name = "N", value_parser = recv_buffers)]
    recv_buffers: Option<u16>,
    /// Microseconds a core keeps polling for completions before it sleeps. Over loopback
    /// the server's CPU runs the client's receive path and pays for waking a sleeping
    /// client (an inter-processor interrupt); polling spares it that [default: 0].
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 0)]
    busy_poll_us: u64,
}

/// A checked command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub connections: usize,
    /// `-d`, or [`REQUESTS_ONLY_LIMIT`] with `-n` alone.
    pub duration: Duration,
    /// `-n`: requests in total.
    pub requests: Option<usize>,
    /// `--warmup`: whole seconds of unmeasured load before the run.
    pub warmup: Duration,
    pub rate: Option<f64>,
    pub pipeline: usize,
    pub close: bool,
    pub fastopen: bool,
    pub cpus: Option<Vec<usize>>,
    /// `-t`: as many cores, CPUs picked as for the default.
    pub threads: Option<usize>,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub timeout: Duration,
    pub cacert: Option<PathBuf>,
    pub tls_resume: bool,
    pub json: Option<PathBuf>,
    pub hlog: Option<PathBuf>,
    pub plot: Option<PathBuf>,
    pub quiet: bool,
    /// `--recv-buffers`: receive buffers per core (`None`: by connections per core).
    pub recv_buffers: Option<u16>,
    /// `--busy-poll-us`: how long an idle core polls before it sleeps.
    pub busy_poll: Duration,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Config>),
    /// `--help` or `--version`: print this and exit 0.
    Print(String),
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let argv = std::iter::once("coreline-load".to_string()).chain(args);
    let flags = match Flags::command().try_get_matches_from(argv) {
        Ok(m) => Flags::from_arg_matches(&m).map_err(|e| one_line(&e))?,
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            return match e.kind() {
                DisplayHelp | DisplayVersion => Ok(Command::Print(e.render().to_string())),
                _ => Err(one_line(&e)),
            };
        }
    };
    check(flags).map(|c| Command::Run(Box::new(c)))
}

/// clap's message on one line: its first paragraph without the `error:` prefix.
fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().take_while(|l| !l.trim().is_empty());
    let joined = first.map(str::trim).collect::<Vec<_>>().join(" ");
    joined.trim_start_matches("error: ").to_string()
}

/// The checks that involve more than one flag.
fn check(f: Flags) -> Result<Config, String> {
    if f.connections > MAX_CONNECTIONS {
        return Err(format!(
            "-c {} is more than {MAX_CONNECTIONS}",
            f.connections
        ));
    }
    if f.pipeline > MAX_PIPELINE {
        return Err(format!(
            "--pipeline {} is more than {MAX_PIPELINE}",
            f.pipeline
        ));
    }
    if f.close && f.pipeline > 1 {
        return Err("--close and --pipeline > 1 exclude each other".into());
    }
    // (-t is checked once its CPUs are known: more than there are runs one per CPU.)
    if let Some(cpus) = f.cpus.as_ref().filter(|c| f.connections < c.len()) {
        return Err(format!(
            "-c {} is fewer connections than the {} CPUs of --cpus",
            f.connections,
            cpus.len()
        ));
    }
    if f.cacert.is_some() && !f.url.tls {
        return Err("--cacert is for https URLs".into());
    }
    Ok(Config {
        target: f.url,
        connections: f.connections,
        duration: f.duration.unwrap_or(REQUESTS_ONLY_LIMIT),
        requests: f.requests,
        warmup: f.warmup,
        rate: f.rate,
        pipeline: f.pipeline,
        close: f.close,
        fastopen: f.fastopen,
        cpus: f.cpus,
        threads: f.threads,
        method: f.method,
        headers: f.headers,
        body: f.body,
        timeout: f.timeout,
        cacert: f.cacert,
        tls_resume: !f.no_tls_resume,
        json: f.json,
        hlog: f.hlog,
        plot: f.plot,
        quiet: f.quiet,
        recv_buffers: f.recv_buffers,
        busy_poll: Duration::from_micros(f.busy_poll_us),
    })
}

/// A CPU list, each CPU once: `1`, `0,1`, `0-3`.
fn cpu_list(spec: &str) -> Result<Vec<usize>, String> {
    Cores::parse_cpus(spec).map_err(|e| format!("{e} (a CPU list like 1, 0,1 or 0-3)"))
}

/// A receive-buffer count: a power of two from 1 to 32768.
fn recv_buffers(v: &str) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(n) if n.is_power_of_two() => Ok(n),
        _ => Err(format!("{v:?} is not a power of two from 1 to 32768")),
    }
}

/// Open-loop rate: 0.01 to 1e9 requests/s.
fn rate(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(r) if (0.01..1e9).contains(&r) => Ok(r),
        _ => Err(format!("wants a rate from 0.01 to 1e9, got '{v}'")),
    }
}

/// Warm-up: whole seconds, 0 to 3600 (so the measured intervals start on a tick).
fn warmup(v: &str) -> Result<Duration, String> {
    match v.parse::<u64>() {
        Ok(s) if s <= 3600 => Ok(Duration::from_secs(s)),
        _ => Err(format!("wants whole seconds from 0 to 3600, got '{v}'")),
    }
}

/// A method name: letters and `-`.
fn method(m: &str) -> Result<String, String> {
    if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(format!("'{m}' is not a method name"));
    }
    Ok(m.to_string())
}

/// A positive integer.
fn count(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("wants a positive whole number, got '{v}'")),
    }
}

/// A positive duration: `3`, `2.5`, `500ms`, `10s`, `2m`.
fn seconds(v: &str) -> Result<Duration, String> {
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60.0)
    } else {
        (v, 1.0)
    };
    match num.parse::<f64>() {
        Ok(x) if x > 0.0 && (x * scale) < 1e7 => Ok(Duration::from_secs_f64(x * scale)),
        _ => Err(format!(
            "wants a positive duration (e.g. 10, 500ms), got '{v}'"
        )),
    }
}

/// `Name: value` with a token name and a value without CR/LF.
fn header(v: &str) -> Result<(String, String), String> {
    let bad = || format!("-H: '{v}' is not a header line like 'Name: value'");
    let (name, value) = v.split_once(':').ok_or_else(bad)?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) || value.contains(['\r', '\n']) {
        return Err(bad());
    }
    Ok((name.to_string(), value.trim().to_string()))
}

#[cfg(test)]
#[path = "args/tests.rs"]
mod tests;
