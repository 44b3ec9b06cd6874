//! A handler that calls a tokio-based HTTP client (hyper-util's pooled client) for every
//! request, through a `TokioBridge`: the call runs on a tokio runtime beside the cores and
//! the core serves other connections meanwhile. The upstream is a local hyper server
//! (started here, on a tokio runtime of its own) that answers after a 2 ms tokio sleep.
//!
//! `cargo run --release -p coreline-http --features tokio --example tokio_client`, then
//! `curl localhost:8080/call/7`.

#[path = "../tests/common/tokio_upstream.rs"]
mod tokio_upstream;

use std::time::Duration;

use coreline_http::tokio_compat::TokioBridge;
use coreline_http::{recycle, response, Body, Server};
use http::{Request, StatusCode};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let addr = addr.parse().map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "first argument: IP:PORT")
    })?;
    let upstream_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let upstream =
        tokio_upstream::start_upstream(upstream_runtime.handle(), Duration::from_millis(2))?;
    // One tokio worker beside the cores runs every call; `TokioBridge::from_handle` would
    // use a runtime of the embedder's instead.
    let tokio = TokioBridge::start()?;
    let client = tokio_upstream::client();
    let server = Server::builder().listen(addr).build(move || {
        // Runs once per core: each core's handler holds clones (cheap, shared pool).
        let (tokio, client) = (tokio.clone(), client.clone());
        move |req: Request<Body>| {
            let id = req
                .uri()
                .path()
                .strip_prefix("/call/")
                .map(str::parse::<u64>);
            recycle(req);
            // The call's future must be `Send`: it is polled on the tokio worker.
            let call = match id {
                Some(Ok(id)) => Some((
                    id,
                    tokio.run(tokio_upstream::fetch(client.clone(), upstream, id)),
                )),
                _ => None,
            };
            async move {
                let Some((id, call)) = call else {
                    return response(StatusCode::NOT_FOUND, Body::from_static(b"try /call/7\n"));
                };
                match call.await {
                    Ok(text) => response(StatusCode::OK, Body::from(format!("{id}: {text}\n"))),
                    Err(e) => response(StatusCode::BAD_GATEWAY, Body::from(format!("{e}\n"))),
                }
            }
        }
    })?;
    println!(
        "listening on http://{}/call/ID (upstream http://{upstream}/echo/ID)",
        server.local_addrs()[0]
    );
    server.run()
}
