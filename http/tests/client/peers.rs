//! Against coreline as the upstream: pooling, Content-Length and chunked bodies both ways.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use coreline_http::client::Client;
use coreline_http::{Body, Server, ServerHandle};
use coreline_runtime::Cores;
use http::{header, Request, Response, StatusCode};

use crate::on_core;

/// A coreline upstream on a thread of its own.
pub struct Upstream {
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `/hello`: a short body; `/echo`: the request body streamed back; `/stream/N`: N bytes
/// in 1000-byte chunks, chunked; `/method`: the method and the request's framing fields.
pub async fn handler(req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let framing = format!(
        "{} cl={:?} te={:?}",
        req.method(),
        req.headers().get(header::CONTENT_LENGTH),
        req.headers().get(header::TRANSFER_ENCODING)
    );
    let body = match path.as_str() {
        "/hello" => Body::from_static(b"Hello, World!"),
        "/echo" => req.into_body(),
        "/method" => Body::from(framing),
        p if p.starts_with("/stream/") => {
            let total: usize = p["/stream/".len()..].parse().unwrap_or(0);
            let chunks = (0..total.div_ceil(1000)).map(move |i| {
                let len = (total - i * 1000).min(1000);
                Ok(Bytes::from(vec![b'a' + (i % 26) as u8; len]))
            });
            Body::from_stream(Stream(chunks))
        }
        _ => {
            let mut res = Response::new(Body::from_static(b"not found"));
            *res.status_mut() = StatusCode::NOT_FOUND;
            return res;
        }
    };
    Response::new(body)
}

/// An iterator as a `Stream`.
struct Stream<I>(I);

impl<I: Iterator + Unpin> futures_core::Stream for Stream<I> {
    type Item = I::Item;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<I::Item>> {
        std::task::Poll::Ready(self.get_mut().0.next())
    }
}

/// Starts a plain coreline upstream with [`handler`].
pub fn start_upstream() -> Upstream {
    start_with(|b| b.listen("127.0.0.1:0".parse().unwrap()), false)
}

/// Starts a coreline upstream listening as `configure` says.
pub fn start_with(
    configure: impl FnOnce(coreline_http::Builder) -> coreline_http::Builder,
    tls: bool,
) -> Upstream {
    let server = configure(Server::builder().cores(Cores::Count(1)))
        .build(|| handler)
        .expect("build upstream");
    let addr = if tls {
        server.tls_local_addrs()[0]
    } else {
        server.local_addrs()[0]
    };
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    assert!(
        handle.wait_ready(Duration::from_secs(10)),
        "upstream did not start"
    );
    Upstream {
        addr,
        handle,
        thread: Some(thread),
    }
}

fn get(url: &str) -> Request<Body> {
    Request::get(url).body(Body::empty()).unwrap()
}

#[test]
fn keep_alive_pool_reuses_one_connection() {
    let upstream = start_upstream();
    let base = format!("http://{}", upstream.addr);
    on_core(move || async move {
        let client = Client::builder().build();
        let uri: http::Uri = format!("{base}/hello").parse().unwrap();
        for _ in 0..3 {
            let res = client.request(get(&format!("{base}/hello"))).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let body = res.into_body().collect(1024).await.unwrap();
            assert_eq!(&body[..], b"Hello, World!");
            assert_eq!(client.idle_connections(&uri), 1, "one connection, reused");
        }
        let res = client.request(get(&format!("{base}/nope"))).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    });
}

#[test]
fn chunked_download_streams_and_returns_the_connection() {
    let upstream = start_upstream();
    let base = format!("http://{}", upstream.addr);
    on_core(move || async move {
        let client = Client::builder().build();
        let res = client
            .request(get(&format!("{base}/stream/250000")))
            .await
            .unwrap();
        assert_eq!(
            res.headers().get(header::TRANSFER_ENCODING).unwrap(),
            "chunked"
        );
        let mut body = res.into_body();
        let uri: http::Uri = base.parse().unwrap();
        let (mut total, mut pieces) = (0, 0);
        while let Some(chunk) = body.chunk().await.unwrap() {
            assert!(chunk.iter().all(|&b| b.is_ascii_lowercase()));
            total += chunk.len();
            pieces += 1;
            if total < 250_000 {
                assert_eq!(client.idle_connections(&uri), 0, "in use while streaming");
            }
        }
        assert_eq!(total, 250_000);
        assert!(pieces > 1, "streamed, not buffered whole");
        assert_eq!(
            client.idle_connections(&uri),
            1,
            "back in the pool at the end"
        );
    });
}

#[test]
fn uploads_sized_and_chunked() {
    let upstream = start_upstream();
    let base = format!("http://{}", upstream.addr);
    on_core(move || async move {
        let client = Client::builder().build();
        // In memory: Content-Length.
        let req = Request::post(format!("{base}/method"))
            .body(Body::from("abc"))
            .unwrap();
        let text = client.request(req).await.unwrap().into_body();
        let text = text.collect(1024).await.unwrap();
        assert_eq!(&text[..], b"POST cl=Some(\"3\") te=None");
        // A stream of unknown length: chunked, echoed back chunked.
        let parts: Vec<std::io::Result<Bytes>> = (0..50)
            .map(|i| Ok(Bytes::from(format!("part {i};"))))
            .collect();
        let expected: String = (0..50).map(|i| format!("part {i};")).collect();
        let req = Request::post(format!("{base}/echo"))
            .header(header::CONTENT_LENGTH, "999") // replaced by the real framing
            .body(Body::from_stream(Stream(parts.into_iter())))
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let echoed = res.into_body().collect(1 << 20).await.unwrap();
        assert_eq!(echoed, expected.as_bytes());
        // A sized stream: Content-Length, streamed.
        let big = vec![7u8; 300_000];
        let chunks: Vec<std::io::Result<Bytes>> = big
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let req = Request::put(format!("{base}/echo"))
            .body(Body::from_stream_sized(300_000, Stream(chunks.into_iter())))
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.headers().get(header::CONTENT_LENGTH).unwrap(), "300000");
        assert_eq!(res.into_body().collect(1 << 20).await.unwrap(), big);
    });
}

#[test]
fn head_response_has_no_body() {
    let upstream = start_upstream();
    let base = format!("http://{}", upstream.addr);
    on_core(move || async move {
        let client = Client::builder().build();
        let req = Request::head(format!("{base}/hello"))
            .body(Body::empty())
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.headers().get(header::CONTENT_LENGTH).unwrap(), "13");
        assert!(res.into_body().collect(1024).await.unwrap().is_empty());
        // The connection is still in step: a GET on it works.
        let res = client.request(get(&format!("{base}/hello"))).await.unwrap();
        assert_eq!(
            &res.into_body().collect(1024).await.unwrap()[..],
            b"Hello, World!"
        );
    });
}

#[test]
fn idle_connections_expire() {
    let upstream = start_upstream();
    let base = format!("http://{}", upstream.addr);
    on_core(move || async move {
        let client = Client::builder()
            .idle_timeout(Duration::from_millis(200))
            .build();
        let uri: http::Uri = base.parse().unwrap();
        let res = client.request(get(&format!("{base}/hello"))).await.unwrap();
        res.into_body().collect(1024).await.unwrap();
        assert_eq!(client.idle_connections(&uri), 1);
        coreline_runtime::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(client.idle_connections(&uri), 0, "closed by the sweeper");
    });
}
