//! The ceiling: answers every complete request head it reads with one fixed 200 response
//! (13 body bytes), without parsing. No HTTP server on this machine can beat it, so it
//! shows how much of a server's cost is the kernel's and how much is the runtime's.
//!
//! `cargo run --release -p coreline-runtime --example ceiling -- ADDR [CPUS]`

use std::process::ExitCode;

#[path = "support/args.rs"]
mod args;

use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{spawn_local, time, Runtime};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: coreline\r\nContent-Type: text/plain\r\n\
Content-Length: 13\r\n\r\nHello, World!";

fn main() -> ExitCode {
    let (addr, cores) = match args::addr_and_cores("ceiling", "127.0.0.1:8080") {
        Ok(parsed) => parsed,
        Err(code) => return ExitCode::from(code),
    };
    let run = Runtime::builder().cores(cores).build().and_then(|rt| {
        rt.run(|_| async move {
            let mut listener = match TcpListener::bind(addr) {
                Ok(l) => l,
                Err(e) => return e,
            };
            loop {
                match listener.accept().await {
                    Ok(stream) => drop(spawn_local(serve(stream))),
                    Err(e) => {
                        eprintln!("ceiling: accept failed: {e}");
                        time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }
        })
    });
    match run {
        Ok(errors) => {
            for e in errors {
                eprintln!("ceiling: {e}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Counts request heads (`\r\n\r\n`) as they stream in, and answers all heads that
/// completed in one received chunk with one send.
async fn serve(mut stream: TcpStream) {
    let mut matched = 0usize; // how much of "\r\n\r\n" the previous chunk ended with
    let mut out: Vec<u8> = Vec::with_capacity(RESPONSE.len() * 16);
    while let Ok(Some(data)) = stream.recv().await {
        let heads = count_heads(&data, &mut matched);
        drop(data); // give the buffer back to the ring before waiting on the send
        if heads == 0 {
            continue;
        }
        out.clear();
        for _ in 0..heads {
            out.extend_from_slice(RESPONSE);
        }
        let (res, buf) = stream.send_all(out).await;
        out = buf;
        if res.is_err() {
            break;
        }
    }
}

/// Counts occurrences of `\r\n\r\n`, carrying partial matches across chunks.
fn count_heads(data: &[u8], matched: &mut usize) -> usize {
    const END: &[u8; 4] = b"\r\n\r\n";
    let mut heads = 0;
    for &b in data {
        if b == END[*matched] {
            *matched += 1;
            if *matched == 4 {
                heads += 1;
                *matched = 0;
            }
        } else {
            *matched = usize::from(b == b'\r');
        }
    }
    heads
}
