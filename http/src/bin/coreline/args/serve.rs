//! `coreline serve`'s flags. The config file's keys are these flags' long names (see
//! `config.rs`), so a flag added here is a key there too.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use coreline_http::{AccessLogFormat, FileBodyMethod, ListenAddr, ListenerMode};
use coreline_runtime::Cores;

use super::values::{self, SniCert};
use crate::log_sink::LogFormat;
use crate::proxy_args;

/// `serve`'s flags as given (`None`/empty: not given; defaults are applied in `merge.rs`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Read settings from this TOML file: every flag below is a key of the same name
    /// (`max-connections = 10000`, `listen = [":8080"]`); flags given here override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Plain HTTP address (repeatable): IP:PORT, [IPv6]:PORT, :PORT (every interface, IPv4
    /// and IPv6) or HOST:PORT (every address HOST resolves to at start). Default
    /// 127.0.0.1:8080, unless --tls-listen is given (then HTTPS only). Under socket
    /// activation (LISTEN_FDS) the passed sockets replace --listen and --tls-listen.
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<ListenAddr>,
    /// CPUs to serve on, one core each: all, 0, 0,1, 0-3 [default: all].
    #[arg(long, value_name = "LIST", value_parser = values::cpus)]
    pub cpus: Option<Cores>,
    /// Listen backlog of each listener [default: 4096].
    #[arg(long, value_name = "N", value_parser = values::backlog)]
    pub backlog: Option<u32>,
    /// Serve the files under DIR (symlinks leaving it are refused).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// HTTPS address (repeatable, same forms as --listen), with the same routes.
    #[arg(long, value_name = "ADDR")]
    pub tls_listen: Vec<ListenAddr>,
    /// The default certificate chain (PEM) of --tls-listen.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Another certificate for clients asking for NAME (repeatable).
    #[arg(long, value_name = "NAME=CERT:KEY", value_parser = values::sni)]
    pub tls_sni: Vec<SniCert>,
    /// Record latency histograms and serve /metrics (Prometheus) and /debug/latency on an
    /// admin listener at this IP:PORT.
    #[arg(long, value_name = "ADDR", value_parser = values::admin_addr)]
    pub metrics: Option<SocketAddr>,
    /// Where SIGUSR1 and shutdown write HdrHistogram interval logs [default: .].
    #[arg(long, value_name = "DIR")]
    pub metrics_hlog: Option<PathBuf>,
    /// Also record kernel receive timestamp to reap (SO_TIMESTAMPING; costs CPU).
    #[arg(long)]
    pub metrics_rx_timestamps: bool,
    /// Allow --metrics on an address other than loopback (the admin listener has no
    /// authentication).
    #[arg(long)]
    pub metrics_public: bool,
    /// Listen even where another coreline listens (SO_REUSEPORT), for a zero-downtime
    /// restart: start the new one with it, then SIGTERM the old one.
    #[arg(long)]
    pub reuse_port: bool,
    /// How the cores share each --listen/--tls-listen address: reuseport (a socket per
    /// core, the kernel's hash picks one), shared (one socket, the first core to accept
    /// takes it) or steered (a socket per core, a BPF program picks the core with the
    /// fewest open and not yet accepted connections; needs CAP_BPF or CAP_SYS_ADMIN, else reuseport with a
    /// warning) [default: reuseport].
    #[arg(long, value_name = "MODE", value_parser = values::listener_mode)]
    pub listener_mode: Option<ListenerMode>,
    /// Connections per core (0 = unlimited); one more is answered 503 and closed (on a TLS
    /// listener: closed) [default: 16384].
    #[arg(long, value_name = "N", value_parser = values::limit)]
    pub max_connections: Option<usize>,
    /// Largest request body, in bytes or with k, m or g (as nginx's
    /// client_max_body_size; 0 = unlimited); larger gets 413 [default: 1m].
    #[arg(long, value_name = "SIZE", value_parser = values::body_size)]
    pub max_body: Option<u64>,
    /// TLS handshakes in progress per core (0 = unlimited); one more closes the oldest
    /// pending one [default: 256].
    #[arg(long, value_name = "N", value_parser = values::limit)]
    pub max_handshakes: Option<usize>,
    /// The bound on graceful shutdown (SIGTERM/SIGINT): listeners close, requests in flight
    /// are answered with Connection: close; what is left then is dropped [default: 10].
    #[arg(long, value_name = "SECS", value_parser = values::drain_timeout)]
    pub drain_timeout: Option<Duration>,
    /// TCP_NODELAY on accepted connections: on|off [default: on].
    #[arg(long, value_name = "on|off", value_parser = values::on_off)]
    pub tcp_nodelay: Option<bool>,
    /// Accept requests in the SYN (TCP Fast Open) with QLEN pending (needs
    /// net.ipv4.tcp_fastopen 2 or 3) [default: off].
    #[arg(long, value_name = "QLEN", value_parser = values::fastopen_queue)]
    pub tcp_fastopen: Option<u32>,
    /// TCP_NOTSENT_LOWAT on accepted connections: about the most a connection queues in the
    /// kernel unsent, so a slow reader cannot pin megabytes of TCP memory; off: the kernel's
    /// default [default: 131072].
    #[arg(long, value_name = "BYTES|off", value_parser = values::notsent_lowat)]
    pub notsent_lowat: Option<values::NotsentLowat>,
    /// TCP congestion control of accepted connections: auto (the kernel's, but reno instead
    /// of BBR on loopback listeners, where BBR's per-connection pacing timers only cost
    /// CPU, and on --proxy connections to loopback upstreams), kernel (the kernel's
    /// everywhere), or a name from /proc/sys/net/ipv4/tcp_available_congestion_control
    /// (listeners only) [default: auto].
    #[arg(long, value_name = "auto|kernel|NAME", value_parser = values::congestion_control)]
    pub congestion_control: Option<values::CongestionControl>,
    /// Microseconds an idle core keeps polling for completions before it sleeps, so a
    /// competing task cannot take its CPU in short gaps; costs up to that much CPU per
    /// idle gap [default: 0, sleep at once].
    #[arg(long, value_name = "MICROSECONDS")]
    pub busy_poll_us: Option<u64>,
    /// How files under --root are sent on plain connections: auto (read+send below 8 KiB,
    /// splice above), splice, read or send-zc [default: auto].
    #[arg(long, value_name = "METHOD", value_parser = values::file_body)]
    pub file_body: Option<FileBodyMethod>,
    /// A request body must arrive at this many bytes/s after a 5 s grace (0 = none);
    /// slower gets 408 and a close [default: 240].
    #[arg(long, value_name = "BYTES_PER_S", value_parser = values::rate)]
    pub min_body_rate: Option<u32>,
    /// Likewise for a client taking a response (0 = none); slower is closed [default: 240].
    #[arg(long, value_name = "BYTES_PER_S", value_parser = values::rate)]
    pub min_send_rate: Option<u32>,
    /// The least severe log records written to stderr: error, warn, info, debug or trace
    /// [default: info]. SIGHUP applies a new value from --config's file.
    #[arg(long, value_name = "LEVEL", value_parser = values::log_level)]
    pub log_level: Option<log::LevelFilter>,
    /// How each log line on stderr is written: text (time, level, message) or json (one
    /// object per line: ts, level, target, msg) [default: text].
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Forward requests whose path starts with PREFIX to the upstream URL (repeatable; the
    /// longest prefix wins, before the other routes). A URL with a path replaces the
    /// prefix with it (/api/=http://127.0.0.1:9000/ sends /api/x as /x); one without
    /// keeps the path.
    #[arg(long, value_name = "PREFIX=URL")]
    pub proxy: Vec<coreline_http::proxy::Route>,
    /// The Host sent to the upstream: upstream (its host:port, as nginx's proxy_pass) or
    /// keep (the client's) [default: upstream].
    #[arg(long, value_name = "keep|upstream")]
    pub proxy_host: Option<coreline_http::proxy::HostHeader>,
    /// Each read from and write to the upstream may take this long; longer answers 504.
    /// Also how long an upgraded (WebSocket) connection may stay silent [default: 60].
    #[arg(long, value_name = "SECS", value_parser = proxy_args::timeout)]
    pub proxy_timeout: Option<Duration>,
    /// Upstream exchanges at once, per core and --proxy route (0 = unlimited)
    /// [default: 256].
    #[arg(long, value_name = "N", value_parser = values::limit)]
    pub proxy_max_connections: Option<usize>,
    /// Requests waiting for one of those exchanges, per core and route; one more is
    /// answered 503 [default: 1024].
    #[arg(long, value_name = "N", value_parser = values::limit)]
    pub proxy_queue: Option<usize>,
    /// Upstream response bodies with a Content-Length of at least BYTES are spliced
    /// socket to socket (plain HTTP on both sides); off: always copied
    /// [default: 4096].
    #[arg(long, value_name = "BYTES|off", value_parser = proxy_args::splice_min)]
    pub proxy_splice_min: Option<u64>,
    /// Write a line per response to FILE (appended; created if missing; reopened on
    /// SIGHUP, after logrotate moved it) or, with -, to standard output [default: none].
    #[arg(long, value_name = "FILE|-")]
    pub access_log: Option<PathBuf>,
    /// The access log's lines: combined (nginx's combined format) or json (one object per
    /// line) [default: combined].
    #[arg(long, value_name = "FORMAT", value_parser = values::access_log_format)]
    pub access_log_format: Option<AccessLogFormat>,
}
