//! A TLS echo server on every core (or the given CPUs), until Ctrl-C.
//!
//! `cargo run --release -p coreline-tls --example tls_echo -- ADDR CERT KEY [CPUS]`
//! e.g. `-- 127.0.0.1:7443 cert.pem key.pem 0,1`. Make a certificate with
//! `generate_self_signed` (or `coreline gen-cert DIR`), then try
//! `openssl s_client -connect 127.0.0.1:7443 -servername localhost`.

use std::process::ExitCode;
use std::time::Duration;

use bytes::BytesMut;
use coreline_runtime::net::TcpListener;
use coreline_runtime::{current_core, spawn_local, time, Cores, Runtime};
use coreline_tls::{TlsAcceptor, TlsStream};

const USAGE: &str =
    "usage: tls_echo ADDR CERT KEY [CPUS]   e.g. tls_echo 127.0.0.1:7443 cert.pem key.pem 0,1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(3..=4).contains(&args.len()) {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let addr: std::net::SocketAddr = match args[0].parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tls_echo: '{}' is not an IP:PORT address: {e}", args[0]);
            return ExitCode::from(2);
        }
    };
    let cores = match args.get(3).map(|list| Cores::parse_list(list)) {
        None => Cores::All,
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("tls_echo: {e}");
            return ExitCode::from(2);
        }
    };
    // Load and check the certificate once, before any core starts.
    let tls = match TlsAcceptor::from_pem_files(&args[1], &args[2]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tls_echo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = Runtime::builder().cores(cores).build().and_then(|rt| {
        rt.run(|_| {
            let tls = tls.per_core();
            async move {
                let mut listener = TcpListener::bind(addr)?;
                let core = current_core();
                eprintln!(
                    "tls_echo: core {} (cpu {}) listening on {}",
                    core.index,
                    core.cpu,
                    listener.local_addr()
                );
                loop {
                    match listener.accept().await {
                        Ok(tcp) => {
                            let tls = tls.clone();
                            spawn_local(async move {
                                match tls.accept(tcp).await {
                                    Ok(stream) => echo(stream).await,
                                    Err(e) => eprintln!("tls_echo: handshake failed: {e}"),
                                }
                            });
                        }
                        Err(e) => {
                            eprintln!("tls_echo: accept failed: {e}");
                            time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), std::io::Error>(())
            }
        })
    });
    match run {
        Ok(results) => match results.into_iter().find_map(Result::err) {
            Some(e) => {
                eprintln!("tls_echo: {e}");
                ExitCode::FAILURE
            }
            None => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("tls_echo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends back every byte until the peer closes; answers its close_notify with ours.
async fn echo(mut stream: TlsStream) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        match stream.recv_into(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {
                if stream.send_all(&buf).await.is_err() {
                    return;
                }
                buf.clear();
            }
            Err(_) => return, // truncated or broken: no close_notify owed
        }
    }
    let _ = stream.shutdown().await;
}
