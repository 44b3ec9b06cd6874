//! A tokio-based upstream and client for the `tokio` feature's test and example: a hyper
//! server that answers `GET /echo/ID` with `upstream saw /echo/ID` after a tokio sleep,
//! and hyper-util's (legacy, pooled) client for it. Not part of `common/mod.rs`: only the
//! targets built with the feature include it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// The pooled HTTP/1.1 client the handlers call the upstream with.
pub type UpstreamClient = Client<HttpConnector, Empty<Bytes>>;

/// What the upstream answers to a request for `path`.
pub fn upstream_body(path: &str) -> String {
    format!("upstream saw {path}")
}

/// Starts the upstream on `runtime`, on 127.0.0.1 at a free port; each answer waits `delay`
/// (a tokio timer) first.
pub fn start_upstream(
    runtime: &tokio::runtime::Handle,
    delay: Duration,
) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = {
        let _context = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    runtime.spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| async move {
                    tokio::time::sleep(delay).await;
                    let body = Bytes::from(upstream_body(req.uri().path()));
                    Ok::<_, Infallible>(Response::new(Full::new(body)))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// A client for the upstream (tokio-based: its connections are tokio tasks).
pub fn client() -> UpstreamClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `GET http://upstream/echo/ID` with `client`, giving the body. Needs a tokio runtime:
/// run it through a `TokioBridge`.
pub async fn fetch(
    client: UpstreamClient,
    upstream: SocketAddr,
    id: u64,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let uri = format!("http://{upstream}/echo/{id}").parse()?;
    let response = client.get(uri).await?;
    if !response.status().is_success() {
        return Err(format!("upstream answered {}", response.status()).into());
    }
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8(body.to_vec())?)
}
