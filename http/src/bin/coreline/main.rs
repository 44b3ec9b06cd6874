//! `coreline serve [--listen ADDR] [--cpus LIST] [--backlog N] [--root DIR] [--tls-listen
//! ADDR --tls-cert FILE --tls-key FILE [--tls-sni NAME=CERT:KEY]...]`: the coreline HTTP
//! and HTTPS server; `coreline gen-cert DIR`: a self-signed certificate for local use.
//! Ctrl-C or SIGTERM shuts the server down gracefully and exits 0; a bad flag, an address
//! in use, an unreadable root or a bad certificate or key prints one line and exits 2.

mod args;
mod files;
mod routes;
mod signals;

use std::process::ExitCode;

use coreline_http::Server;
use coreline_tls::TlsAcceptor;

fn main() -> ExitCode {
    match args::parse(std::env::args().skip(1)) {
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Ok(args::Command::Serve(serve)) => run(serve),
        Ok(args::Command::GenCert(dir)) => gen_cert(&dir),
        Err(e) => fail(&format!("{e} ({})", args::USAGE_SHORT)),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("coreline: {message}");
    ExitCode::from(2)
}

fn gen_cert(dir: &std::path::Path) -> ExitCode {
    match coreline_tls::generate_self_signed(dir, &[]) {
        Ok((cert, key)) => {
            println!("{}", cert.display());
            println!("{}", key.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
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
    let mut builder = Server::builder().cores(serve.cpus).backlog(serve.backlog);
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
        Err(e) => return fail(&format!("cannot block SIGINT/SIGTERM: {e}")),
    };
    let server = match builder.build(move || routes::Router::new(files.clone())) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = signals::spawn_waiter(signals, server.handle()) {
        return fail(&format!("cannot start the signal thread: {e}"));
    }
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
    match server.run() {
        Ok(()) => {
            eprintln!("coreline: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}
