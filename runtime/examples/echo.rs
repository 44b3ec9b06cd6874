//! An echo server on every core (or the given CPUs), until Ctrl-C.
//!
//! `cargo run --release -p coreline-runtime --example echo -- ADDR [CPUS]`
//! e.g. `-- 127.0.0.1:7000` (all cores) or `-- 127.0.0.1:7000 0,1`.

use std::process::ExitCode;

#[path = "support/args.rs"]
mod args;

use coreline_runtime::net::TcpListener;
use coreline_runtime::{current_core, ring_info, spawn_local, time, Runtime};

fn main() -> ExitCode {
    let (addr, cores) = match args::addr_and_cores("echo", "127.0.0.1:7000") {
        Ok(parsed) => parsed,
        Err(code) => return ExitCode::from(code),
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
