//! Command-line parsing: wrk-like flags into a checked [`Config`]. Every error is one line
//! that names the flag and what is wrong with it; `main` prints it with the usage and exits 2.

use std::path::PathBuf;
use std::time::Duration;

use crate::url::Target;

/// The usage text (`-h`/`--help`, and after every argument error).
pub const USAGE: &str = "\
usage: coreline-load -c CONNS -d SECS [options] URL

  URL                  http://HOST:PORT/path or https://HOST:PORT/path
  -c, --connections N  connections, split evenly across the cores (required)
  -d, --duration T     how long to send: seconds, or with a unit (500ms, 10s, 2m) (required)
  -R, --rate RATE      open loop: RATE requests/s in total, each latency measured from the
                       time its request was due (coordinated omission corrected);
                       without it: closed loop, as fast as responses come back
      --pipeline N     requests outstanding per connection (default 1, at most 256)
      --close          a new connection per request (`Connection: close`; latency includes
                       connect and, for https, the handshake)
      --fastopen       connect with TCP Fast Open (TCP_FASTOPEN_CONNECT): once the server
                       gave a cookie, each new connection's request rides in its SYN
                       (for --close runs; needs the server's listen option and sysctl)
      --cpus LIST      CPUs to run on, one core each: 1 / 0,1 / 0-3
                       (default: the second CPU this process may use, or the only one)
  -m, --method M       request method (default GET)
  -H, --header 'N: v'  add a request header (repeatable)
      --body STRING    request body (sent with Content-Length)
      --timeout T      per-request timeout (default 10s): counts an error and reconnects
      --cacert FILE    verify the server's certificate against these PEM roots; without it
                       certificates are NOT verified (this is a benchmark tool)
      --no-tls-resume  full TLS handshake on every connection (default: resume sessions)
      --json FILE      write the results as JSON
      --hlog FILE      write an HdrHistogram interval log (one interval per second)
      --plot FILE      write the latency percentile spectrum as an SVG plot
      --quiet          no live progress line (it is only shown when stderr is a terminal)
  -h, --help           this text
";

/// Most requests a connection may keep outstanding (the request batches are pre-encoded
/// for every depth up to this, see `request.rs`).
pub const MAX_PIPELINE: usize = 256;

/// Most connections (far beyond what one machine's ports and file descriptors allow).
pub const MAX_CONNECTIONS: usize = 1_000_000;

/// A checked command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub connections: usize,
    pub duration: Duration,
    pub rate: Option<f64>,
    pub pipeline: usize,
    pub close: bool,
    pub fastopen: bool,
    pub cpus: Option<Vec<usize>>,
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
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Config>),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let (mut conns, mut duration, mut url) = (None, None, None);
    let mut cfg = Config {
        target: Target::placeholder(),
        connections: 0,
        duration: Duration::ZERO,
        rate: None,
        pipeline: 1,
        close: false,
        fastopen: false,
        cpus: None,
        method: "GET".into(),
        headers: Vec::new(),
        body: None,
        timeout: Duration::from_secs(10),
        cacert: None,
        tls_resume: true,
        json: None,
        hlog: None,
        plot: None,
        quiet: false,
    };
    while let Some(arg) = args.next() {
        // `--flag=value` as well as `--flag value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-c" | "--connections" => conns = Some(count(&flag, &value(&flag)?)?),
            "-d" | "--duration" => duration = Some(seconds(&flag, &value(&flag)?)?),
            "-R" | "--rate" => {
                let v = value(&flag)?;
                match v.parse::<f64>() {
                    Ok(r) if (0.01..1e9).contains(&r) => cfg.rate = Some(r),
                    _ => return Err(format!("{flag} wants a rate from 0.01 to 1e9, got '{v}'")),
                }
            }
            "--pipeline" => cfg.pipeline = count(&flag, &value(&flag)?)?,
            "--close" => cfg.close = true,
            "--fastopen" => cfg.fastopen = true,
            "--cpus" => cfg.cpus = Some(cpu_list(&value(&flag)?)?),
            "-m" | "--method" => {
                let m = value(&flag)?;
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
                    return Err(format!("{flag}: '{m}' is not a method name"));
                }
                cfg.method = m;
            }
            "-H" | "--header" => cfg.headers.push(header(&value(&flag)?)?),
            "--body" => cfg.body = Some(value(&flag)?),
            "--timeout" => cfg.timeout = seconds(&flag, &value(&flag)?)?,
            "--cacert" => cfg.cacert = Some(value(&flag)?.into()),
            "--no-tls-resume" => cfg.tls_resume = false,
            "--json" => cfg.json = Some(value(&flag)?.into()),
            "--hlog" => cfg.hlog = Some(value(&flag)?.into()),
            "--plot" => cfg.plot = Some(value(&flag)?.into()),
            "--quiet" => cfg.quiet = true,
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            _ if url.is_some() => return Err(format!("more than one URL: '{arg}'")),
            _ => url = Some(arg),
        }
    }
    cfg.connections = conns.ok_or("-c CONNS is required")?;
    if cfg.connections > MAX_CONNECTIONS {
        return Err(format!(
            "-c {} is more than {MAX_CONNECTIONS}",
            cfg.connections
        ));
    }
    cfg.duration = duration.ok_or("-d SECS is required")?;
    cfg.target = Target::parse(&url.ok_or("a URL is required")?)?;
    if cfg.pipeline > MAX_PIPELINE {
        return Err(format!(
            "--pipeline {} is more than {MAX_PIPELINE}",
            cfg.pipeline
        ));
    }
    if cfg.close && cfg.pipeline > 1 {
        return Err("--close and --pipeline > 1 exclude each other".into());
    }
    if let Some(cpus) = &cfg.cpus {
        if cfg.connections < cpus.len() {
            return Err(format!(
                "-c {} is fewer connections than the {} CPUs of --cpus",
                cfg.connections,
                cpus.len()
            ));
        }
    }
    if cfg.cacert.is_some() && !cfg.target.tls {
        return Err("--cacert is for https URLs".into());
    }
    Ok(Command::Run(Box::new(cfg)))
}

/// A positive integer.
fn count(flag: &str, v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} wants a positive whole number, got '{v}'")),
    }
}

/// A positive duration: `3`, `2.5`, `500ms`, `10s`, `2m`.
fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
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
            "{flag} wants a positive duration (e.g. 10, 500ms), got '{v}'"
        )),
    }
}

/// `1`, `0,1`, `0-3`: the CPUs, each once.
fn cpu_list(spec: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("--cpus: '{spec}' is not a CPU list like 1, 0,1 or 0-3");
    let mut cpus = Vec::new();
    for part in spec.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part.trim(), part.trim()),
        };
        let (a, b): (usize, usize) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b || b - a > 4096 {
            return Err(bad());
        }
        for cpu in a..=b {
            if cpus.contains(&cpu) {
                return Err(format!("--cpus: CPU {cpu} is listed twice"));
            }
            cpus.push(cpu);
        }
    }
    Ok(cpus)
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
