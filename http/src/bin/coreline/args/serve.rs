//! `coreline serve` flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use coreline_http::{Builder, FileBodyMethod};
use coreline_runtime::Cores;

use super::{Command, Flags};
use crate::metrics_args::{self, MetricsFlags};

/// The plain listener used when neither `--listen` nor `--tls-listen` is given.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// What `serve` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serve {
    /// Plain HTTP address: `--listen`, else 127.0.0.1:8080 unless `--tls-listen` is given
    /// (then `None`: HTTPS only).
    pub listen: Option<SocketAddr>,
    /// CPUs to serve on (default: all).
    pub cpus: Cores,
    /// Listen backlog (default 4096).
    pub backlog: u32,
    /// Directory whose files are served, if any.
    pub root: Option<PathBuf>,
    /// HTTPS, if `--tls-listen` was given.
    pub tls: Option<Tls>,
    /// Metrics and the admin listener (`--metrics`, `--metrics-hlog`).
    pub metrics: MetricsFlags,
    /// `--reuse-port`: share the ports with a running coreline (zero-downtime restart).
    pub reuse_port: bool,
    /// `--max-connections N`: connections per core (default 16,384; 0 = unlimited).
    pub max_connections: Option<usize>,
    /// `--max-handshakes N`: TLS handshakes in progress per core (default 256; 0 =
    /// unlimited).
    pub max_handshakes: Option<usize>,
    /// `--drain-timeout SECS`: the bound on graceful shutdown (default 10 s).
    pub drain_timeout: Option<std::time::Duration>,
    /// `--tcp-nodelay on|off`: `TCP_NODELAY` on accepted connections (default on).
    pub tcp_nodelay: bool,
    /// `--tcp-fastopen QLEN`: `TCP_FASTOPEN` on the listeners with this queue length
    /// (default off).
    pub tcp_fastopen: Option<u32>,
    /// `--notsent-lowat BYTES|off`: `TCP_NOTSENT_LOWAT` on accepted connections (default
    /// [`Builder::DEFAULT_NOTSENT_LOWAT`]; `None`: off).
    pub notsent_lowat: Option<u32>,
    /// `--file-body METHOD`: how file bodies are sent (default `auto`).
    pub file_body: FileBodyMethod,
    /// `--min-body-rate BYTES_PER_S`: minimum request-body rate after the grace (default
    /// 240; 0 = none).
    pub min_body_rate: Option<u32>,
    /// `--min-send-rate BYTES_PER_S`: minimum rate at which a client takes a response
    /// after the grace (default 240; 0 = none).
    pub min_send_rate: Option<u32>,
}

/// The HTTPS listener and its certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `--tls-listen`.
    pub listen: SocketAddr,
    /// `--tls-cert`: the default chain (PEM).
    pub cert: PathBuf,
    /// `--tls-key`: its key (PEM).
    pub key: PathBuf,
    /// `--tls-sni NAME=CERT:KEY`, in order.
    pub sni: Vec<(String, PathBuf, PathBuf)>,
}

/// Parses `serve`'s flags.
pub fn parse(flags: Flags<impl Iterator<Item = String>>) -> Result<Command, String> {
    let mut listen = None;
    let mut serve = Serve {
        listen: None,
        cpus: Cores::All,
        backlog: 4096,
        root: None,
        tls: None,
        metrics: MetricsFlags::default(),
        reuse_port: false,
        max_connections: None,
        max_handshakes: None,
        drain_timeout: None,
        tcp_nodelay: true,
        tcp_fastopen: None,
        notsent_lowat: Some(Builder::DEFAULT_NOTSENT_LOWAT),
        file_body: FileBodyMethod::Auto,
        min_body_rate: None,
        min_send_rate: None,
    };
    let (mut tls_listen, mut cert, mut key, mut sni) = (None, None, None, Vec::new());
    for flag in flags {
        match flag.name.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--reuse-port" => serve.reuse_port = true,
            "--listen" => listen = Some(addr("--listen", flag.value()?)?),
            "--cpus" => {
                serve.cpus =
                    Cores::parse_list(&flag.value()?).map_err(|e| format!("--cpus: {e}"))?;
            }
            "--backlog" => {
                let value = flag.value()?;
                serve.backlog = value
                    .parse()
                    .ok()
                    .filter(|&n: &u32| n > 0 && n <= i32::MAX as u32)
                    .ok_or_else(|| format!("--backlog '{value}' is not a positive number"))?;
            }
            "--root" => serve.root = Some(PathBuf::from(flag.value()?)),
            "--max-connections" => {
                let value = flag.value()?;
                let n = value.parse().map_err(|_| {
                    format!("--max-connections '{value}' is not a number (0 = unlimited)")
                })?;
                serve.max_connections = Some(n);
            }
            "--max-handshakes" => {
                let value = flag.value()?;
                let n = value.parse().map_err(|_| {
                    format!("--max-handshakes '{value}' is not a number (0 = unlimited)")
                })?;
                serve.max_handshakes = Some(n);
            }
            "--drain-timeout" => {
                let value = flag.value()?;
                let secs = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
                    .ok_or_else(|| format!("--drain-timeout '{value}' is not 0..3600 seconds"))?;
                serve.drain_timeout = Some(std::time::Duration::from_secs_f64(secs));
            }
            "--tcp-nodelay" => {
                serve.tcp_nodelay = match flag.value()?.as_str() {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("--tcp-nodelay '{other}' is not on or off")),
                };
            }
            "--tcp-fastopen" => {
                let value = flag.value()?;
                let n = value
                    .parse()
                    .ok()
                    .filter(|&n: &u32| n > 0 && n <= i32::MAX as u32)
                    .ok_or_else(|| {
                        format!("--tcp-fastopen '{value}' is not a positive queue length")
                    })?;
                serve.tcp_fastopen = Some(n);
            }
            "--notsent-lowat" => {
                let value = flag.value()?;
                serve.notsent_lowat = match value.as_str() {
                    "off" => None,
                    bytes => Some(bytes.parse().ok().filter(|&n: &u32| n > 0 && n <= i32::MAX as u32).ok_or_else(|| {
                        format!("--notsent-lowat '{value}' is not a positive number of bytes or off")
                    })?),
                };
            }
            "--file-body" => {
                serve.file_body = match flag.value()?.as_str() {
                    "auto" => FileBodyMethod::Auto,
                    "splice" => FileBodyMethod::Splice,
                    "read" => FileBodyMethod::Read,
                    "send-zc" => FileBodyMethod::SendZc,
                    other => {
                        return Err(format!(
                            "--file-body '{other}' is not auto, splice, read or send-zc"
                        ))
                    }
                };
            }
            "--min-body-rate" => {
                serve.min_body_rate = Some(rate("--min-body-rate", flag.value()?)?)
            }
            "--min-send-rate" => {
                serve.min_send_rate = Some(rate("--min-send-rate", flag.value()?)?)
            }
            "--tls-listen" => tls_listen = Some(addr("--tls-listen", flag.value()?)?),
            "--tls-cert" => cert = Some(PathBuf::from(flag.value()?)),
            "--tls-key" => key = Some(PathBuf::from(flag.value()?)),
            "--tls-sni" => sni.push(sni_entry(&flag.value()?)?),
            "--metrics" | "--metrics-hlog" | "--metrics-rx-timestamps" | "--metrics-public" => {
                let name = flag.name.clone();
                if let Some(done) =
                    metrics_args::parse_flag(&mut serve.metrics, &name, || flag.value().ok())
                {
                    done?;
                }
            }
            _ => return Err(format!("unknown argument '{}'", flag.name)),
        }
    }
    serve.tls = match (tls_listen, cert, key) {
        (Some(listen), Some(cert), Some(key)) => Some(Tls {
            listen,
            cert,
            key,
            sni,
        }),
        (Some(_), None, _) => return Err("--tls-listen needs --tls-cert FILE".into()),
        (Some(_), _, None) => return Err("--tls-listen needs --tls-key FILE".into()),
        (None, None, None) if sni.is_empty() => None,
        (None, ..) => {
            return Err("--tls-cert, --tls-key and --tls-sni need --tls-listen ADDR".into())
        }
    };
    metrics_args::check(&serve.metrics)?;
    // An explicit --tls-listen alone means HTTPS only; with nothing, the default plain one.
    serve.listen = match (listen, &serve.tls) {
        (Some(a), _) => Some(a),
        (None, None) => Some(DEFAULT_LISTEN),
        (None, Some(_)) => None,
    };
    Ok(Command::Serve(Box::new(serve)))
}

fn addr(flag: &str, value: String) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} '{value}' is not an IP:PORT address"))
}

/// `NAME=CERT:KEY` (the key path is what follows the last `:`).
fn sni_entry(value: &str) -> Result<(String, PathBuf, PathBuf), String> {
    let bad = || format!("--tls-sni '{value}' is not NAME=CERT:KEY");
    let (name, files) = value.split_once('=').ok_or_else(bad)?;
    let (cert, key) = files.rsplit_once(':').ok_or_else(bad)?;
    if name.is_empty() || cert.is_empty() || key.is_empty() {
        return Err(bad());
    }
    Ok((name.to_string(), PathBuf::from(cert), PathBuf::from(key)))
}

/// A `--min-*-rate` value: bytes per second, 0 for none.
fn rate(name: &str, value: String) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("{name} '{value}' is not a number of bytes per second (0 = none)"))
}
