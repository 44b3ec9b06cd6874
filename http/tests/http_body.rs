//! `Body` as an `http_body::Body` (size hints, frames) in a handler, and an
//! `http_body::Body` as a response body (`Body::from_http_body`): Content-Length when its
//! size is exact, chunked when not, trailers dropped.
#![cfg(feature = "http-body")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use coreline_http::{Body, Server};
use coreline_runtime::Cores;
use http::{HeaderMap, Request, Response};
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt, StreamBody};

/// `/hint`: the request body's size hint, then its data (read through `http_body`);
/// `/frames`: a response of two data frames and a trailers frame, size unknown;
/// `/full`: a response from an `http_body_util::Full` (exact size).
async fn handler(req: Request<Body>) -> Response<Body> {
    match req.uri().path() {
        "/hint" => {
            let body = req.into_body();
            let hint = body.size_hint();
            let hint = format!("{:?} {:?} ", hint.lower(), hint.upper());
            let data = BodyExt::collect(body).await.expect("body").to_bytes();
            let text = format!("{hint}{}", String::from_utf8_lossy(&data));
            Response::new(Body::from(text))
        }
        "/frames" => {
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
                Ok(Frame::data(Bytes::from_static(b"one "))),
                Ok(Frame::data(Bytes::from_static(b"two"))),
                Ok(Frame::trailers(HeaderMap::new())),
            ];
            let stream = StreamBody::new(futures_iter(frames));
            Response::new(Body::from_http_body(stream))
        }
        _ => Response::new(Body::from_http_body(http_body_util::Full::new(
            Bytes::from_static(b"full body"),
        ))),
    }
}

/// A stream of `items`, ready at once.
fn futures_iter<T: Unpin>(items: Vec<T>) -> impl futures_core::Stream<Item = T> + Unpin {
    struct Iter<T>(std::vec::IntoIter<T>);
    impl<T: Unpin> futures_core::Stream for Iter<T> {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items.into_iter())
}

fn start() -> (SocketAddr, coreline_http::ServerHandle) {
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .build(|| handler)
        .unwrap();
    let addr = server.local_addrs()[0];
    let handle = server.handle();
    std::thread::spawn(move || server.run());
    assert!(handle.wait_ready(Duration::from_secs(10)));
    (addr, handle)
}

/// Sends `request` on a fresh connection and reads the whole response (closed after it).
fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").unwrap().1
}

#[test]
fn request_body_size_hint_is_exact_with_content_length() {
    let (addr, handle) = start();
    let res = exchange(
        addr,
        "POST /hint HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(body_of(&res), "5 Some(5) hello");
    handle.shutdown();
}

#[test]
fn request_body_read_through_http_body_waits_for_the_socket() {
    let (addr, handle) = start();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"POST /hint HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\nfirst",
    )
    .unwrap();
    // The handler is polling for the rest meanwhile: the read that waits is exercised.
    std::thread::sleep(Duration::from_millis(100));
    s.write_all(b"-last").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert_eq!(body_of(&out), "10 Some(10) first-last");
    handle.shutdown();
}

#[test]
fn request_body_size_hint_is_unknown_when_chunked() {
    let (addr, handle) = start();
    let res = exchange(
        addr,
        "POST /hint HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(body_of(&res), "0 None abcde");
    handle.shutdown();
}

#[test]
fn http_body_responses_are_framed_by_their_size_hint() {
    let (addr, handle) = start();
    let res = exchange(
        addr,
        "GET /full HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(res.contains("Content-Length: 9\r\n"), "{res}");
    assert_eq!(body_of(&res), "full body");
    let res = exchange(
        addr,
        "GET /frames HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(res.contains("Transfer-Encoding: chunked\r\n"), "{res}");
    // The trailers frame is dropped: the last chunk ends the body with no trailer fields.
    assert_eq!(body_of(&res), "4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n");
    handle.shutdown();
}
