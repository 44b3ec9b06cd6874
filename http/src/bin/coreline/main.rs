//! `coreline serve [--listen ADDR] [--cpus LIST] [--backlog N] [--root DIR] [--tls-listen
//! ADDR --tls-cert FILE --tls-key FILE [--tls-sni NAME=CERT:KEY]...]`: the coreline HTTP
//! and HTTPS server; `coreline gen-cert DIR [--days N] [--force]`: a self-signed
//! certificate for local use.
//! Ctrl-C or SIGTERM shuts the server down gracefully and exits 0; a bad flag, an address
//! in use, an unreadable root or a bad certificate or key prints one line and exits 2.
//! With `--metrics ADDR [--metrics-hlog DIR]`, SIGUSR1 writes an interval log.
//! `--tcp-nodelay on|off` and `--tcp-fastopen QLEN` set those socket options on the
//! listeners (see kernel-tuning/README.md, experiments 4 and 5).
//!
//! `coreline stats URL [--count N]`: polls a server's admin listener and prints its
//! percentile table every second; exits 1 with one line if it cannot read it.

mod admin;
mod args;
mod files;
mod metrics_args;
mod routes;
mod signals;
mod stats;
mod stderr_log;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use coreline_http::Server;
use coreline_tls::TlsAcceptor;

fn main() -> ExitCode {
    stderr_log::init();
    match args::parse(std::env::args().skip(1)) {
        Ok(args::Command::Help) => {
            // `coreline --help | head` closes the pipe early: not an error, and no panic.
            let _ = writeln!(std::io::stdout(), "{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Ok(args::Command::Serve(serve)) => run(*serve),
        Ok(args::Command::GenCert(gen)) => gen_cert(&gen),
        Ok(args::Command::Stats(s)) => match stats::run(&s) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("coreline stats: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => fail(&format!("{e} ({})", args::USAGE_SHORT)),
    }
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
        eprintln!(
            "coreline: warning: --tcp-fastopen has no effect while net.ipv4.tcp_fastopen={v} \
             lacks the server bit (set it to 3, see kernel-tuning/)"
        );
    }
}

/// Reads and checks every certificate and key (before anything starts).
fn acceptor(tls: &args::Tls) -> Result<TlsAcceptor, coreline_tls::ConfigError> {
    let mut builder = TlsAcceptor::builder().default_cert(&tls.cert, &tls.key);
    for (name, cert, key) in &tls.sni {
        builder = builder.sni_cert(name, cert, key);
    }
    builder.build()
}

fn run(serve: args::Serve) -> ExitCode {
    // One descriptor per connection: take what the hard limit allows (the server warns at
    // start if that is still low).
    if let Err(e) = coreline_http::raise_fd_limit() {
        eprintln!("coreline: warning: cannot raise the open-file limit: {e}");
    }
    let files = match serve.root.as_deref().map(files::Files::new).transpose() {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    if serve.metrics.admin.is_some()
        && serve.metrics.admin == serve.listen
        && serve.listen.is_some_and(|a| a.port() != 0)
    {
        return fail("--metrics needs an address other than --listen's");
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
        .tcp_nodelay(serve.tcp_nodelay)
        .tcp_fastopen(serve.tcp_fastopen)
        .file_body_method(serve.file_body)
        .server_header(Some(http::HeaderValue::from_static("coreline")));
    if serve.tcp_fastopen.is_some() {
        warn_if_no_fastopen_server();
    }
    if let Some(n) = serve.max_connections {
        builder = builder.limits(coreline_http::Limits::default().max_connections_per_core(n));
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
    if let Some(addr) = serve.listen {
        builder = builder.listen(addr);
    }
    if let Some(tls) = &serve.tls {
        match acceptor(tls) {
            Ok(acceptor) => builder = builder.tls_listen(tls.listen, acceptor),
            Err(e) => return fail(&e.to_string()),
        }
    }
    // Before any thread exists, so that every thread inherits the blocked mask.
    let signals = match signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot block SIGINT/SIGTERM/SIGUSR1: {e}")),
    };
    let server = match builder.build(move || routes::Router::new(files.clone())) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let handle = server.handle();
    let on_usr1 = {
        let (hlog, handle) = (hlog.clone(), handle.clone());
        move || match &hlog {
            Some(h) => h.dump(&handle),
            None => eprintln!("coreline: SIGUSR1 ignored: no metrics (start with --metrics ADDR)"),
        }
    };
    if let Err(e) = signals::spawn_waiter(signals, handle.clone(), on_usr1) {
        return fail(&format!("cannot start the signal thread: {e}"));
    }
    let admin = match serve.metrics.admin {
        Some(addr) => match admin::Admin::start(addr, server.cpus()[0], handle.clone()) {
            Ok(a) => {
                let addr = a.addr;
                eprintln!("coreline: metrics on http://{addr}/metrics and /debug/latency");
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
    eprintln!(
        "coreline: serving {} on {cpus} core(s) (Ctrl-C to stop)",
        urls.join(" and ")
    );
    let result = server.run();
    if let Some(a) = admin {
        a.stop();
    }
    if let Some(h) = &hlog {
        h.dump(&handle); // the cores' final metrics
    }
    match result {
        Ok(()) => {
            eprintln!("coreline: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}
