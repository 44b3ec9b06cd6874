//! Helpers shared by the integration tests: a server on its own thread, a raw-byte client
//! that parses responses strictly, and a test handler with routes for every behaviour.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use coreline_http::{recycle, response, Body, Builder, Limits, Server, ServerHandle, Timeouts};
use coreline_runtime::{time, Cores};
use http::{header, HeaderValue, Request, Response, StatusCode};

/// A server running on a thread of its own.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Running {
    /// Shuts down and returns what `run` returned.
    pub fn stop(mut self) -> io::Result<()> {
        self.handle.shutdown();
        self.thread
            .take()
            .unwrap()
            .join()
            .expect("server thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.shutdown();
            let _ = t.join();
        }
    }
}

/// Starts the test server (one core) with these limits and timeouts; in a target that
/// runs over TLS (`crate::OVER_TLS`), `addr` is an HTTPS listener with the test certificate.
pub fn start(limits: Limits, timeouts: Timeouts) -> Running {
    start_configured(|b| b.limits(limits).timeouts(timeouts))
}

/// Starts the test server (one core) as [`start`] does, with the builder's other options
/// set by `configure`.
pub fn start_configured(configure: impl FnOnce(Builder) -> Builder) -> Running {
    let local: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let builder = Server::builder();
    let builder = if crate::OVER_TLS {
        builder.tls_listen(local, transport::test_acceptor())
    } else {
        builder.listen(local)
    };
    let server = configure(builder.cores(Cores::Count(1)))
        .build(|| test_handler)
        .expect("build server");
    run_on_thread(server)
}

/// Runs a built server on a thread of its own until it accepts.
pub fn run_on_thread<F, H>(server: Server<F>) -> Running
where
    F: Fn() -> H + Send + Sync + 'static,
    H: coreline_http::Handler,
{
    let addr = match crate::OVER_TLS {
        true => server.tls_local_addrs()[0],
        false => server.local_addrs()[0],
    };
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    assert!(
        handle.wait_ready(Duration::from_secs(10)),
        "server did not start"
    );
    Running {
        addr,
        handle,
        thread: Some(thread),
    }
}

/// A server with the default limits and timeouts.
pub fn start_default() -> Running {
    start(Limits::default(), Timeouts::default())
}

fn text(status: StatusCode, body: impl Into<Body>) -> Response<Body> {
    let mut res = response(status, body.into());
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    res
}

/// Routes: `/plaintext`; `/echo` (collect and return the body); `/noread` (answers
/// without reading the body); `/slow-echo` (sleeps 200 ms, then echoes); `/slow` (sleeps
/// 300 ms); `/status/N`; `/stream` (three chunks, length unknown); `/close` (asks for
/// `Connection: close`); `/panic`; `/big` (100 KiB); `/stream-echo` (the request body
/// streamed back as the response body); `/host` (the `Host` header the handler sees).
pub async fn test_handler(req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/plaintext" => {
            recycle(req);
            text(StatusCode::OK, Body::from_static(b"Hello, World!"))
        }
        "/echo" | "/slow-echo" => {
            if path == "/slow-echo" {
                time::sleep(Duration::from_millis(200)).await;
            }
            match req.into_body().collect(usize::MAX).await {
                Ok(b) => text(StatusCode::OK, b),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        "/noread" => text(StatusCode::OK, "ignored\n"),
        "/host" => {
            let host = req
                .headers()
                .get(header::HOST)
                .map(|v| v.as_bytes().to_vec());
            text(StatusCode::OK, host.unwrap_or_default())
        }
        "/stream-echo" => response(StatusCode::OK, req.into_body()),
        "/slow" => {
            time::sleep(Duration::from_millis(300)).await;
            text(StatusCode::OK, "slow\n")
        }
        "/stream" => {
            let chunks = ["one,", "two,", "three"].map(|s| Ok(Bytes::from_static(s.as_bytes())));
            text(StatusCode::OK, Body::from_stream(Iter(chunks.into_iter())))
        }
        "/close" => {
            let mut res = text(StatusCode::OK, "bye\n");
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
        "/panic" => panic!("test handler panics on purpose"),
        "/big" => text(StatusCode::OK, vec![b'x'; 100 * 1024]),
        p if p.starts_with("/status/") => {
            let code: u16 = p["/status/".len()..].parse().unwrap_or(500);
            text(
                StatusCode::from_u16(code).unwrap(),
                "body that must not be sent\n",
            )
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// A stream over an iterator.
pub struct Iter<I>(pub I);

impl<I: Iterator<Item = io::Result<Bytes>> + Unpin> futures_core::Stream for Iter<I> {
    type Item = io::Result<Bytes>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

mod client;
pub mod transport;
pub use client::*;

pub mod metrics;
