//! `coreline serve [--listen ADDR] [--cpus LIST] [--backlog N] [--root DIR]
//! [--metrics ADDR [--metrics-hlog DIR]]`: the coreline HTTP server. Ctrl-C or SIGTERM
//! shuts it down gracefully and exits 0; a bad flag, an address in use or an unreadable
//! root prints one line and exits 2. With `--metrics`, SIGUSR1 writes an interval log.
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

use std::process::ExitCode;
use std::sync::Arc;

use coreline_http::Server;

fn main() -> ExitCode {
    match args::parse(std::env::args().skip(1)) {
        Ok(args::Command::Help) => {
            println!("{} {}", args::USAGE, metrics_args::USAGE);
            println!("       {}", metrics_args::STATS_USAGE);
            ExitCode::SUCCESS
        }
        Ok(args::Command::Serve(serve)) => run(serve),
        Ok(args::Command::Stats(s)) => match stats::run(&s) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("coreline stats: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => fail(&format!(
            "{e} ({} {}; {})",
            args::USAGE,
            metrics_args::USAGE,
            metrics_args::STATS_USAGE
        )),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("coreline: {message}");
    ExitCode::from(2)
}

fn run(serve: args::Serve) -> ExitCode {
    let files = match serve.root.as_deref().map(files::Files::new).transpose() {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    if serve.metrics.admin == Some(serve.listen) && serve.listen.port() != 0 {
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
    // Before any thread exists, so that every thread inherits the blocked mask.
    let signals = match signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot block SIGINT/SIGTERM/SIGUSR1: {e}")),
    };
    let server = Server::builder()
        .listen(serve.listen)
        .cores(serve.cpus)
        .backlog(serve.backlog)
        .metrics(serve.metrics.admin.is_some())
        .build(move || routes::Router::new(files.clone()));
    let server = match server {
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
    let addr = server.local_addrs()[0];
    let cpus = server.cpus().len();
    eprintln!("coreline: serving http://{addr}/ on {cpus} core(s) (Ctrl-C to stop)");
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
