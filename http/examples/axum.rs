//! Serves an unmodified `axum::Router` (examples/axum/routes.rs: a path parameter, JSON in
//! and out, shared state, a tower-http compression layer) on coreline, one copy of the
//! router per core:
//!
//! ```text
//! cargo run --release -p coreline-http --example axum --features tower
//! cargo run --release -p coreline-http --example axum --features tower -- --listen 0.0.0.0:3000 --cpus 0,1
//! curl localhost:3000/users/1
//! curl -d '{"name":"Grace","email":"grace@example.com"}' -H 'content-type: application/json' localhost:3000/users
//! ```
//!
//! Listens on `127.0.0.1:3000` (axum's customary port; loopback only, as an example should)
//! unless `--listen ADDR` says otherwise (port 0: a free port). `--cpus LIST` (`0`, `0,1`,
//! `0-3`; default: all) picks the cores. Prints `listening on http://ADDR/` once bound.
//! Ctrl-C or SIGTERM ends the process.

#[path = "axum/routes.rs"]
mod routes;

use std::net::SocketAddr;
use std::process::ExitCode;

use coreline_http::Server;
use coreline_runtime::Cores;

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
const USAGE: &str = "usage: axum [--listen ADDR] [--cpus LIST]";

fn main() -> ExitCode {
    let (listen, cores) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("axum: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let router = routes::router();
    let server = Server::builder()
        .listen(listen)
        .cores(cores)
        // Runs on each core: that core's clone of the router (the state is shared).
        .build_service(move || router.clone());
    let server = match server {
        Ok(server) => server,
        Err(e) => {
            eprintln!("axum: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{}/", server.local_addrs()[0]);
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, Cores), String> {
    let mut listen = DEFAULT_LISTEN.parse().expect("a valid default");
    let mut cores = Cores::All;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => {
                listen = value
                    .parse()
                    .map_err(|e| format!("--listen '{value}': {e}"))?
            }
            "--cpus" => {
                cores = Cores::parse_list(&value).map_err(|e| format!("--cpus '{value}': {e}"))?
            }
            _ => return Err(format!("unknown argument '{flag}'")),
        }
    }
    Ok((listen, cores))
}
