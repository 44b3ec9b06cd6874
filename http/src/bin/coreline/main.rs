//! `coreline serve [--config FILE] [--listen ADDR]... [--cpus LIST] [--backlog N] [--root
//! DIR] [--tls-listen ADDR... --tls-cert FILE --tls-key FILE [--tls-sni NAME=CERT:KEY]...]`:
//! the coreline HTTP and HTTPS server; `coreline gen-cert DIR [--days N] [--force]`: a
//! self-signed certificate for local use; `coreline check-config FILE`: checks a config
//! file without serving (exit 0 or 1, as `nginx -t`).
//! Ctrl-C, SIGTERM or SIGQUIT shuts the server down gracefully and exits 0; SIGHUP
//! reloads the TLS certificates and `--config`'s log-level (see `signals` and `reload`); a
//! bad flag or config value, an address in use, an unreadable root or a bad certificate or
//! key prints one plain line and exits 2.
//! Once serving, everything it reports is a log record on stderr (`log_sink`):
//! `--log-level error|warn|info|debug|trace` (info: startup, reloads, shutdown) and
//! `--log-format text|json`.
//! With `--metrics ADDR [--metrics-hlog DIR]`, SIGUSR1 writes an interval log.
//! `--access-log FILE|- [--access-log-format combined|json]` writes a line per response
//! (SIGHUP reopens the file; an unopenable file prints one line and exits 2).
//! `--tcp-nodelay on|off`, `--tcp-fastopen QLEN`, `--notsent-lowat BYTES|off` and
//! `--congestion-control auto|kernel|NAME` set those socket options on the listeners (see
//! kernel-tuning/README.md, experiments 4 and 5, for the first two; `auto`, the default,
//! trades BBR for reno on loopback listeners: bench/README.md, "Large files"). `--busy-poll-us N` keeps an idle core polling that long before
//! it sleeps (see bench/README.md's large-file section for what it costs).
//!
//! Under systemd, `notify` reports readiness, reloads and the drain on `NOTIFY_SOCKET`
//! (`Type=notify`), and `activation` serves on the sockets of socket activation
//! (`LISTEN_FDS`) instead of `--listen`/`--tls-listen`; see `dist/coreline.service`.
//!
//! `coreline stats URL [--count N]`: polls a server's admin listener and prints its
//! percentile table every second; exits 1 with one line if it cannot read it.

// The flag structs' doc comments are also their `--help` text, written for a terminal:
// `[IPv6]:PORT` there is an address form, not a rustdoc link.
#![allow(rustdoc::broken_intra_doc_links)]

mod activation;
mod admin;
mod args;
mod files;
mod log_sink;
mod metrics_args;
mod notify;
mod proxy_args;
mod reload;
mod routes;
mod signals;
mod stats;

use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use args::CongestionControl;
use coreline_http::Server;
use coreline_tls::TlsAcceptor;

fn main() -> ExitCode {
    // Both read (and clear) environment variables: before any thread starts.
    notify::init();
    let inherited = activation::take();
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let command = args::parse(argv.clone());
    if !matches!(command, Ok(args::Command::Serve(_))) {
        log_sink::init(log_sink::LogFormat::Text, log::LevelFilter::Warn);
    }
    let inherited = match inherited {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    match command {
        Err(args::Exit::Print(text)) => {
            // `coreline --help | head` closes the pipe early: not an error, and no panic.
            let _ = write!(std::io::stdout(), "{text}");
            ExitCode::SUCCESS
        }
        Err(args::Exit::Usage(e)) => fail(&format!("{e} ({})", args::USAGE_SHORT)),
        Ok(args::Command::Serve(serve)) => run(*serve, argv, inherited),
        Ok(args::Command::GenCert(gen)) => gen_cert(&gen),
        Ok(args::Command::Stats(s)) => match stats::run(&s) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("coreline stats: {e}");
                ExitCode::from(1)
            }
        },
        Ok(args::Command::CheckConfig(path)) => check_config(&path),
    }
}

/// `check-config FILE`: as `nginx -t`, the settings, certificates, root and addresses are
/// checked without serving; one line either way.
fn check_config(path: &std::path::Path) -> ExitCode {
    let checked = args::check_config(path).and_then(|serve| {
        let shown = path.display();
        if let Some(root) = &serve.root {
            files::Root::new(root).map_err(|e| format!("{shown}: {e}"))?;
        }
        if let Some(tls) = &serve.tls {
            acceptor(tls).map_err(|e| format!("{shown}: {e}"))?;
        }
        let all = serve
            .listen
            .iter()
            .chain(serve.tls.iter().flat_map(|t| &t.listen));
        for addr in all {
            addr.resolve().map_err(|e| format!("{shown}: {e}"))?;
        }
        Ok(())
    });
    match checked {
        Ok(()) => {
            let _ = writeln!(std::io::stdout(), "configuration {} is ok", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("coreline: {e}");
            ExitCode::from(1)
        }
    }
}

/// Every socket address of `addrs`, names resolved now.
fn resolve_all(addrs: &[coreline_http::ListenAddr]) -> Result<Vec<SocketAddr>, String> {
    let mut out = Vec::new();
    for addr in addrs {
        out.extend(addr.resolve().map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("coreline: {message}");
    ExitCode::from(2)
}

fn gen_cert(gen: &args::GenCert) -> ExitCode {
    let options = coreline_tls::GenOptions::default()
        .days(gen.days)
        .overwrite(gen.force);
    match coreline_tls::generate_self_signed_with(&gen.dir, &[], options) {
        Ok((cert, key)) => {
            let _ = writeln!(std::io::stdout(), "{}\n{}", cert.display(), key.display());
            ExitCode::SUCCESS
        }
        Err(coreline_tls::ConfigError::Exists { path }) => fail(&format!(
            "{}: already exists (--force replaces it)",
            path.display()
        )),
        Err(e) => fail(&e.to_string()),
    }
}

/// `--tcp-fastopen` is silently inert unless the server bit (2) of `net.ipv4.tcp_fastopen`
/// is set: say so once at start.
fn warn_if_no_fastopen_server() {
    let path = "/proc/sys/net/ipv4/tcp_fastopen";
    let Some(v) = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return;
    };
    if v & 2 == 0 {
        log::warn!(
            "coreline: --tcp-fastopen has no effect while net.ipv4.tcp_fastopen={v} lacks the \
             server bit (set it to 3, see kernel-tuning/)"
        );
    }
}

/// Reads and checks every certificate and key (before anything starts).
fn acceptor(tls: &args::Tls) -> Result<TlsAcceptor, coreline_tls::ConfigError> {
    reload::cert_files(tls).build()
}

/// `--access-log FILE|-` opened (with its writer thread), or one line naming the file.
fn open_access_log(
    path: Option<&std::path::Path>,
    format: coreline_http::AccessLogFormat,
) -> Result<Option<coreline_http::AccessLog>, String> {
    match path {
        None => Ok(None),
        Some(p) if p.as_os_str() == "-" => coreline_http::AccessLog::stdout(format).map(Some),
        Some(p) => coreline_http::AccessLog::open(p, format).map(Some),
    }
    .map_err(|e| format!("--access-log {e}"))
}

/// SIGHUP: the access log's file opened again (logrotate moved it), or a line saying why
/// not (the old file stays in use).
fn reopen_access_log(log: &coreline_http::AccessLog) {
    match log.reopen() {
        Ok(()) => log::info!("coreline: SIGHUP: access log reopened"),
        Err(e) => log::error!(
            "coreline: SIGHUP: access log not reopened, still writing the old file: {e}"
        ),
    }
}

/// Serves with `serve`, the settings `argv` (the arguments after the program name) gave,
/// on the sockets systemd passed (if any) instead of binding `--listen`/`--tls-listen`.
fn run(serve: args::Serve, argv: Vec<OsString>, inherited: activation::Inherited) -> ExitCode {
    log_sink::init(serve.log_format, serve.log_level);
    log::debug!("coreline: settings given: {}", serve.keys);
    let in_force = serve.clone(); // for SIGHUP to compare a new config file with
                                  // One descriptor per connection: take what the hard limit allows (the server warns at
                                  // start if that is still low).
    if let Err(e) = coreline_http::raise_fd_limit() {
        log::warn!("coreline: cannot raise the open-file limit: {e}");
    }
    let root = match serve.root.as_deref().map(files::Root::new).transpose() {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    // Socket activation replaces the addresses of --listen and --tls-listen.
    let activated = !inherited.is_empty();
    let listen = match resolve_all(&serve.listen) {
        Ok(_) if activated => Vec::new(),
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    let tls_listen = match serve
        .tls
        .as_ref()
        .map(|t| resolve_all(&t.listen))
        .transpose()
    {
        Ok(_) if activated => Vec::new(),
        Ok(a) => a.unwrap_or_default(),
        Err(e) => return fail(&e),
    };
    if let Some(admin) = serve.metrics.admin {
        if admin.port() != 0 && listen.contains(&admin) {
            return fail("--metrics needs an address other than --listen's");
        }
    }
    let hlog = match &serve.metrics.admin {
        Some(_) => {
            let dir = serve.metrics.hlog_dir.as_deref();
            match admin::Hlog::new(dir.unwrap_or(std::path::Path::new("."))) {
                Ok(h) => Some(Arc::new(h)),
                Err(e) => return fail(&e),
            }
        }
        None => None,
    };
    let mut builder = Server::builder()
        .cores(serve.cpus)
        .backlog(serve.backlog)
        .metrics(serve.metrics.admin.is_some())
        .rx_timestamps(serve.metrics.rx_timestamps)
        .share_ports(serve.reuse_port)
        .listener_mode(serve.listener_mode)
        .tcp_nodelay(serve.tcp_nodelay)
        .tcp_fastopen(serve.tcp_fastopen)
        .notsent_lowat(serve.notsent_lowat)
        .congestion_control(match &serve.congestion_control {
            CongestionControl::Named(name) => Some(name.clone()),
            CongestionControl::Auto | CongestionControl::Kernel => None,
        })
        .unpaced_loopback(serve.congestion_control == CongestionControl::Auto)
        .busy_poll(serve.busy_poll)
        .file_body_method(serve.file_body)
        .server_header(Some(http::HeaderValue::from_static("coreline")));
    if serve.tcp_fastopen.is_some() {
        warn_if_no_fastopen_server();
    }
    if serve.max_connections.is_some() || serve.max_body.is_some() {
        let mut limits = coreline_http::Limits::default();
        if let Some(n) = serve.max_connections {
            limits = limits.max_connections_per_core(n);
        }
        if let Some(bytes) = serve.max_body {
            limits = limits.max_body(bytes);
        }
        builder = builder.limits(limits);
    }
    if serve.min_body_rate.is_some() || serve.min_send_rate.is_some() {
        let defaults = coreline_http::Timeouts::default();
        builder = builder.timeouts(
            defaults
                .min_body_rate(serve.min_body_rate.unwrap_or(defaults.min_body_rate))
                .min_send_rate(serve.min_send_rate.unwrap_or(defaults.min_send_rate)),
        );
    }
    if let Some(n) = serve.max_handshakes {
        builder = builder.max_handshakes(n);
    }
    if let Some(t) = serve.drain_timeout {
        builder = builder.drain_timeout(t);
    }
    for addr in listen {
        builder = builder.listen(addr);
    }
    // Kept for SIGHUP: every listener's copy shares its certificates.
    let tls_acceptor = match serve.tls.as_ref().map(acceptor).transpose() {
        Ok(a) => a,
        Err(e) => return fail(&e.to_string()),
    };
    if let Some(acceptor) = &tls_acceptor {
        for addr in tls_listen {
            builder = builder.tls_listen(addr, acceptor.clone());
        }
    }
    builder = match activation::serve_on(builder, inherited, tls_acceptor.as_ref()) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    // Before any thread exists, so that every thread inherits the blocked mask.
    let signals = match signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot block the signals it handles: {e}")),
    };
    // After the signals are blocked: the writer thread must not take a SIGHUP.
    let access_log = match open_access_log(serve.access_log.as_deref(), serve.access_log_format) {
        Ok(log) => log,
        Err(e) => return fail(&e),
    };
    builder = builder.access_log(access_log.clone());
    let proxy = serve
        .proxy
        .builder(serve.congestion_control == CongestionControl::Auto);
    let server = match builder.build(move || routes::Router::new(root.clone(), proxy.as_ref())) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let handle = server.handle();
    let on_usr1 = {
        let (hlog, handle) = (hlog.clone(), handle.clone());
        move || match &hlog {
            Some(h) => h.dump(&handle),
            None => log::warn!("coreline: SIGUSR1 ignored: no metrics (start with --metrics ADDR)"),
        }
    };
    let mut reload = reload::Reload::new(argv, in_force, tls_acceptor);
    if let Some(log) = access_log {
        reload.on_reload(move || reopen_access_log(&log));
    }
    if let Err(e) = signals::spawn_waiter(signals, handle.clone(), reload, on_usr1) {
        return fail(&format!("cannot start the signal thread: {e}"));
    }
    let admin = match serve.metrics.admin {
        Some(addr) => match admin::Admin::start(addr, server.cpus()[0], handle.clone()) {
            Ok(a) => {
                let addr = a.addr;
                log::info!("coreline: metrics on http://{addr}/metrics and /debug/latency");
                Some(a)
            }
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let cpus = server.cpus().len();
    let urls: Vec<String> = (server.local_addrs().iter())
        .map(|a| format!("http://{a}/"))
        .chain(
            server
                .tls_local_addrs()
                .iter()
                .map(|a| format!("https://{a}/")),
        )
        .collect();
    let status = format!("serving {} on {cpus} core(s)", urls.join(" and "));
    if let Err(e) = notify::announce_when_serving(handle.clone(), status) {
        return fail(&format!("cannot start the readiness thread: {e}"));
    }
    let result = server.run();
    if let Some(a) = admin {
        a.stop();
    }
    if let Some(h) = &hlog {
        h.dump(&handle); // the cores' final metrics
    }
    match result {
        Ok(()) => {
            log::info!("coreline: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}
