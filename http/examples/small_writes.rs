//! A server whose responses leave in several small sends, to see what `TCP_NODELAY` is for:
//! `cargo run --release -p coreline-http --example small_writes -- [--listen ADDR]
//! [--tcp-nodelay on|off] [--cpus LIST]`.
//!
//! Every request gets a streamed body ([`Body::from_stream`]) of two small chunks. The
//! server sends each chunk of a stream as it comes, so a response is three sends: head with
//! the first chunk, the second chunk, the last-chunk marker. With `--tcp-nodelay off`,
//! Nagle's algorithm holds the second send until the client acknowledges the first, and the
//! client, waiting for the rest of the response, delays that ACK (about 40 ms on Linux):
//! each response then takes ~40 ms instead of microseconds. coreline's own routes send a
//! response in one send (head and small body together; files with `MSG_MORE`), which is why
//! they do not show this. Used by `kernel-tuning/experiments/nodelay.py`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use coreline_http::{Body, Server};
use coreline_runtime::Cores;
use futures_core::Stream;
use http::{Request, Response};

/// Yields its chunks one by one.
struct Chunks(Vec<Bytes>);

impl Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let chunks = &mut self.get_mut().0;
        Poll::Ready((!chunks.is_empty()).then(|| Ok(chunks.remove(0))))
    }
}

/// The command line: listen address, `TCP_NODELAY`, CPUs.
struct Args {
    listen: std::net::SocketAddr,
    nodelay: bool,
    cores: Cores,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        listen: "127.0.0.1:8080".parse().expect("address"),
        nodelay: true,
        cores: Cores::All,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => {
                out.listen = value
                    .parse()
                    .map_err(|_| format!("--listen '{value}' is not an IP:PORT address"))?;
            }
            "--tcp-nodelay" => {
                out.nodelay = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("--tcp-nodelay '{value}' is not on or off")),
                };
            }
            "--cpus" => {
                out.cores = Cores::parse_list(&value).map_err(|e| format!("--cpus: {e}"))?
            }
            _ => return Err(format!("unknown argument '{flag}'")),
        }
    }
    Ok(out)
}

fn main() -> std::process::ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("small_writes: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let server = Server::builder()
        .listen(args.listen)
        .cores(args.cores)
        .tcp_nodelay(args.nodelay)
        .build(|| {
            |_req: Request<Body>| async {
                let parts = vec![
                    Bytes::from_static(b"first part of the answer\n"),
                    Bytes::from_static(b"second part of the answer\n"),
                ];
                Response::new(Body::from_stream(Chunks(parts)))
            }
        });
    let result = server.and_then(|s| {
        eprintln!(
            "small_writes: http://{}/ with TCP_NODELAY {}",
            s.local_addrs()[0],
            if args.nodelay { "on" } else { "off" }
        );
        s.run()
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("small_writes: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
