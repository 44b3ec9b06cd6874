//! From `serve`'s flags and config file to checked settings: the file's keys are read as
//! flags placed before the command line's, so a flag given on the command line wins (a
//! repeatable one replaces the file's list), then the defaults and combinations apply.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, FromArgMatches};
use coreline_http::{AccessLogFormat, Builder, FileBodyMethod, ListenAddr, ListenerMode};
use coreline_runtime::Cores;

use super::config::{self, FileArg};
use super::keys::Keys;
use super::serve::ServeArgs;
use super::values::CongestionControl;
use super::values::SniCert;
use crate::log_sink::LogFormat;
use crate::metrics_args::{self, MetricsFlags};
use crate::proxy_args::ProxyFlags;

/// The plain listener used when neither `--listen` nor `--tls-listen` is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// What `serve` was asked to do, defaults applied and combinations checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serve {
    /// Plain HTTP addresses: `--listen`, else 127.0.0.1:8080 unless `--tls-listen` is given
    /// (then none: HTTPS only).
    pub listen: Vec<ListenAddr>,
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
    /// `--listener-mode MODE` (default `reuseport`).
    pub listener_mode: ListenerMode,
    /// `--max-connections N`: connections per core (library default when `None`).
    pub max_connections: Option<usize>,
    /// `--max-body SIZE`: largest request body in bytes (library default when `None`;
    /// `u64::MAX` for unlimited).
    pub max_body: Option<u64>,
    /// `--max-handshakes N`: TLS handshakes in progress per core (library default when
    /// `None`).
    pub max_handshakes: Option<usize>,
    /// `--drain-timeout SECS`: the bound on graceful shutdown (library default when `None`).
    pub drain_timeout: Option<Duration>,
    /// `--tcp-nodelay on|off` (default on).
    pub tcp_nodelay: bool,
    /// `--tcp-fastopen QLEN` (default off).
    pub tcp_fastopen: Option<u32>,
    /// `--notsent-lowat BYTES|off` (default [`Builder::DEFAULT_NOTSENT_LOWAT`]; `None`: off).
    pub notsent_lowat: Option<u32>,
    /// `--congestion-control auto|kernel|NAME` (default `auto`).
    pub congestion_control: CongestionControl,
    /// `--busy-poll-us N` (default 0: an idle core sleeps at once).
    pub busy_poll: Duration,
    /// `--file-body METHOD` (default `auto`).
    pub file_body: FileBodyMethod,
    /// `--min-body-rate` (library default when `None`).
    pub min_body_rate: Option<u32>,
    /// `--min-send-rate` (library default when `None`).
    pub min_send_rate: Option<u32>,
    /// `--log-level` (default info).
    pub log_level: log::LevelFilter,
    /// `--log-format` (default text).
    pub log_format: LogFormat,
    /// `--proxy` routes and their settings.
    pub proxy: ProxyFlags,
    /// `--config FILE`, if given.
    pub config: Option<PathBuf>,
    /// Every key as given, for SIGHUP to see what a new config file changes (filled in by
    /// `parse`; empty from [`Serve::from_args`] alone).
    pub keys: Keys,
    /// `--access-log FILE|-` (`-`: standard output; `None`: no access log).
    pub access_log: Option<PathBuf>,
    /// `--access-log-format` (default `combined`).
    pub access_log_format: AccessLogFormat,
}

/// The HTTPS listeners and their certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `--tls-listen`, each given.
    pub listen: Vec<ListenAddr>,
    /// `--tls-cert`: the default chain (PEM).
    pub cert: PathBuf,
    /// `--tls-key`: its key (PEM).
    pub key: PathBuf,
    /// `--tls-sni NAME=CERT:KEY`, in order.
    pub sni: Vec<SniCert>,
}

/// `serve`'s arguments merged with `--config FILE`'s keys, if a file is named: the file's
/// arguments go first, leaving out keys the command line gives. `Err` is one line.
pub fn with_config(
    serve: &clap::Command,
    matches: &ArgMatches,
    cli: &[OsString],
) -> Result<ArgMatches, String> {
    let flags = ServeArgs::from_arg_matches(matches).map_err(|e| super::one_line(&e))?;
    let Some(path) = &flags.config else {
        return Ok(matches.clone());
    };
    let file = config::read(path, serve)?;
    let from_file = file
        .iter()
        .filter(|arg| matches.value_source(&arg.id) != Some(ValueSource::CommandLine))
        .flat_map(|arg: &FileArg| arg.args.iter().map(OsString::from));
    let all: Vec<OsString> = std::iter::once(OsString::from("serve"))
        .chain(from_file)
        .chain(cli.iter().cloned())
        .collect();
    serve
        .clone()
        .try_get_matches_from(all)
        .map_err(|e| super::one_line(&e))
}

impl Serve {
    /// Applies the defaults and checks the combinations. `Err` is one line.
    pub fn from_args(a: ServeArgs) -> Result<Serve, String> {
        let tls = match (a.tls_listen.is_empty(), a.tls_cert, a.tls_key) {
            (false, Some(cert), Some(key)) => Some(Tls {
                listen: a.tls_listen,
                cert,
                key,
                sni: a.tls_sni,
            }),
            (false, None, _) => return Err("--tls-listen needs --tls-cert FILE".into()),
            (false, _, None) => return Err("--tls-listen needs --tls-key FILE".into()),
            (true, None, None) if a.tls_sni.is_empty() => None,
            // The service manager passed an `https` socket: it is the HTTPS listener.
            (true, Some(cert), Some(key)) if crate::activation::tls_inherited() => Some(Tls {
                listen: Vec::new(),
                cert,
                key,
                sni: a.tls_sni,
            }),
            (true, ..) => {
                return Err("--tls-cert, --tls-key and --tls-sni need --tls-listen ADDR".into())
            }
        };
        let metrics = MetricsFlags {
            admin: a.metrics,
            hlog_dir: a.metrics_hlog,
            rx_timestamps: a.metrics_rx_timestamps,
            public: a.metrics_public,
        };
        metrics_args::check(&metrics)?;
        let proxy = ProxyFlags {
            routes: a.proxy,
            host: a.proxy_host,
            timeout: a.proxy_timeout,
            max_connections: a.proxy_max_connections,
            queue: a.proxy_queue,
            splice_min: a.proxy_splice_min,
        };
        proxy.check()?;
        if a.access_log.is_none() && a.access_log_format.is_some() {
            return Err("--access-log-format needs --access-log FILE|-".into());
        }
        // An explicit --tls-listen alone means HTTPS only; with nothing, the default plain one.
        let listen = match (a.listen.is_empty(), &tls) {
            (false, _) | (true, Some(_)) => a.listen,
            (true, None) => vec![DEFAULT_LISTEN.parse().expect("a valid default")],
        };
        Ok(Serve {
            listen,
            cpus: a.cpus.unwrap_or(Cores::All),
            backlog: a.backlog.unwrap_or(4096),
            root: a.root,
            tls,
            metrics,
            reuse_port: a.reuse_port,
            listener_mode: a.listener_mode.unwrap_or_default(),
            max_connections: a.max_connections,
            max_body: a.max_body,
            max_handshakes: a.max_handshakes,
            drain_timeout: a.drain_timeout,
            tcp_nodelay: a.tcp_nodelay.unwrap_or(true),
            tcp_fastopen: a.tcp_fastopen,
            notsent_lowat: a
                .notsent_lowat
                .map_or(Some(Builder::DEFAULT_NOTSENT_LOWAT), |l| l.0),
            congestion_control: a.congestion_control.unwrap_or_default(),
            busy_poll: Duration::from_micros(a.busy_poll_us.unwrap_or(0)),
            file_body: a.file_body.unwrap_or(FileBodyMethod::Auto),
            min_body_rate: a.min_body_rate,
            min_send_rate: a.min_send_rate,
            log_level: a.log_level.unwrap_or(log::LevelFilter::Info),
            log_format: a.log_format.unwrap_or_default(),
            proxy,
            config: a.config,
            keys: Keys::default(),
            access_log: a.access_log,
            access_log_format: a.access_log_format.unwrap_or_default(),
        })
    }
}

/// `check-config FILE`: the file's settings alone, checked as `serve --config FILE` would
/// check them. `Err` is one line.
pub fn check_file(serve: &clap::Command, path: &std::path::Path) -> Result<Serve, String> {
    let file = config::read(path, serve)?;
    let args = std::iter::once(OsString::from("serve"))
        .chain(file.iter().flat_map(|a| a.args.iter().map(OsString::from)));
    let matches = serve
        .clone()
        .try_get_matches_from(args)
        .map_err(|e| super::one_line(&e))?;
    let flags = ServeArgs::from_arg_matches(&matches).map_err(|e| super::one_line(&e))?;
    Serve::from_args(flags).map_err(|e| format!("{}: {e}", path.display()))
}
