//! `coreline serve [--listen ADDR] [--cpus LIST] [--backlog N] [--root DIR]`: the coreline
//! HTTP server. Ctrl-C or SIGTERM shuts it down gracefully and exits 0; a bad flag, an
//! address in use or an unreadable root prints one line and exits 2.

mod args;
mod files;
mod routes;
mod signals;

use std::process::ExitCode;

use coreline_http::Server;

fn main() -> ExitCode {
    match args::parse(std::env::args().skip(1)) {
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Ok(args::Command::Serve(serve)) => run(serve),
        Err(e) => fail(&format!("{e} ({})", args::USAGE)),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("coreline: {message}");
    ExitCode::from(2)
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
    // Before any thread exists, so that every thread inherits the blocked mask.
    let signals = match signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot block SIGINT/SIGTERM: {e}")),
    };
    let server = Server::builder()
        .listen(serve.listen)
        .cores(serve.cpus)
        .backlog(serve.backlog)
        .build(move || routes::Router::new(files.clone()));
    let server = match server {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = signals::spawn_waiter(signals, server.handle()) {
        return fail(&format!("cannot start the signal thread: {e}"));
    }
    let addr = server.local_addrs()[0];
    let cpus = server.cpus().len();
    eprintln!("coreline: serving http://{addr}/ on {cpus} core(s) (Ctrl-C to stop)");
    match server.run() {
        Ok(()) => {
            eprintln!("coreline: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}
