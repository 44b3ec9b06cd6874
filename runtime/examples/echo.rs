//! An echo server on every core (or the given CPUs), until Ctrl-C.
//!
//! `cargo run --release -p coreline-runtime --example echo -- ADDR [CPUS]`
//! e.g. `-- 127.0.0.1:7000` (all cores) or `-- 127.0.0.1:7000 0,1`.

use std::process::ExitCode;

use coreline_runtime::net::TcpListener;
use coreline_runtime::{current_core, ring_info, spawn_local, time, Cores, Runtime};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("usage: echo ADDR [CPUS]   e.g. echo 127.0.0.1:7000 0,1");
        return ExitCode::from(2);
    };
    let addr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("echo: '{addr}' is not an IP:PORT address: {e}");
            return ExitCode::from(2);
        }
    };
    let cores = match args.next().map(|s| Cores::parse_list(&s)) {
        None => Cores::All,
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("echo: {e}");
            return ExitCode::from(2);
        }
    };
    let run = Runtime::builder().cores(cores).build().and_then(|rt| {
        rt.run(|_| async move {
            let mut listener = TcpListener::bind(addr)?;
            let core = current_core();
            eprintln!(
                "echo: core {} (cpu {}) listening on {} with ring flags {}",
                core.index,
                core.cpu,
                listener.local_addr(),
                ring_info().flags
            );
            loop {
                match listener.accept().await {
                    Ok(stream) => {
                        spawn_local(echo(stream));
                    }
                    Err(e) => {
                        // EMFILE and friends: back off briefly instead of spinning.
                        eprintln!("echo: accept failed: {e}");
                        time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        })
    });
    match run {
        Ok(results) => match results.into_iter().find_map(Result::err) {
            Some(e) => {
                eprintln!("echo: {e}");
                ExitCode::FAILURE
            }
            None => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("echo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends back every byte until the peer closes.
async fn echo(mut stream: coreline_runtime::net::TcpStream) {
    while let Ok(Some(data)) = stream.recv().await {
        // Copy out so the provided buffer goes back to the ring before the send waits.
        let bytes = data.to_vec();
        drop(data);
        if stream.send_all(bytes).await.0.is_err() {
            break;
        }
    }
}
