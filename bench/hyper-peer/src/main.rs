//! `hyper-peer`: the thread-per-core hyper server coreline is measured against.
//!
//! ```text
//! cargo build --release -p coreline-hyper-peer
//! target/release/hyper-peer ADDR [CPUS]      e.g. hyper-peer 127.0.0.1:8080 0
//! ```
//!
//! The same shape as coreline and the runtime's examples, so that the comparison measures the
//! HTTP stacks and not the threading model: one std thread per CPU in `CPUS` (a list such as
//! `0`, `0,1` or `0-3`; all CPUs this process may use when omitted), each pinned to its CPU
//! with `sched_setaffinity`, each running its own tokio `current_thread` runtime with its own
//! `SO_REUSEPORT` listener (backlog 4096, `TCP_NODELAY` set on the listener and inherited by
//! accepted sockets). Connections are served by hyper's HTTP/1 server (`http1::Builder`) with
//! keep-alive and `pipeline_flush` on, so that pipelined responses leave in one write as
//! coreline's and nginx's do.
//!
//! Routes, as coreline's binary and the reference nginx config have them:
//! - `/plaintext` and `/hello` (any method) → `200`, `Hello, World!`, `text/plain`;
//! - `/echo` (any method) → `200` with the request body, `application/octet-stream`;
//! - anything else → `404`.
//!
//! Every response carries `Server: hyper`; hyper adds `Date` (cached per thread).
//! The process runs until it is killed.

#[path = "../../peer_support/per_core.rs"]
mod per_core;

use std::convert::Infallible;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

const HELLO: &[u8] = b"Hello, World!";

fn main() -> ExitCode {
    per_core::main("hyper-peer", |cpu, listener| async move {
        let mut http = http1::Builder::new();
        http.keep_alive(true)
            .pipeline_flush(true)
            .timer(TokioTimer::new());
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let conn = http.serve_connection(TokioIo::new(stream), service_fn(handle));
                    // Connection errors (resets, malformed requests) end that connection only.
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                Err(e) => {
                    // EMFILE and the like: back off briefly rather than spin.
                    eprintln!("hyper-peer: accept on CPU {cpu} failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    })
}

/// The routes.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (body, status, content_type) = match req.uri().path() {
        "/plaintext" | "/hello" => (Bytes::from_static(HELLO), StatusCode::OK, "text/plain"),
        "/echo" => match req.into_body().collect().await {
            Ok(collected) => (
                collected.to_bytes(),
                StatusCode::OK,
                "application/octet-stream",
            ),
            Err(_) => (
                Bytes::from_static(b"bad request body\n"),
                StatusCode::BAD_REQUEST,
                "text/plain",
            ),
        },
        _ => (
            Bytes::from_static(b"not found\n"),
            StatusCode::NOT_FOUND,
            "text/plain",
        ),
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static("hyper"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}
