//! Raw-socket upstreams that misbehave on purpose: closing pooled connections (the retry
//! rule), down, silent, and smuggling-shaped responses.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coreline_http::client::{Client, Error};
use coreline_http::Body;
use http::{Method, Request, StatusCode};

use crate::on_core;

/// Reads one request head (and a Content-Length body) from `stream`; `None` at EOF.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => data.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some(head)
}

/// A peer that answers every connection with `serve`, on threads of its own; counts
/// the connections it accepted.
fn peer(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let serve = Arc::clone(&serve);
            std::thread::spawn(move || serve(stream));
        }
    });
    (addr, accepted)
}

/// Answers `response` to each of the first requests on a connection, then stays silent.
fn answering(response: &'static str) -> impl Fn(TcpStream) + Send + Sync + 'static {
    move |mut stream| {
        if read_request(&mut stream).is_some() {
            let _ = stream.write_all(response.as_bytes());
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

fn request(method: Method, addr: SocketAddr) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("http://{addr}/"))
        .body(Body::from_static(b"x"))
        .unwrap()
}

#[test]
fn closed_pooled_connection_retries_get_but_not_post() {
    // One keep-alive response per connection, then the upstream closes it (as an
    // upstream with a short idle timeout does while it sits in our pool).
    let (addr, accepted) = peer(|mut stream| {
        if read_request(&mut stream).is_some() {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
        std::thread::sleep(Duration::from_millis(50));
    });
    on_core(move || async move {
        let client = Client::builder().build();
        let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
        let settle = || coreline_runtime::time::sleep(Duration::from_millis(300));

        let res = client.request(request(Method::GET, addr)).await.unwrap();
        assert_eq!(&res.into_body().collect(16).await.unwrap()[..], b"ok");
        assert_eq!(client.idle_connections(&uri), 1);
        settle().await; // the upstream has closed the pooled connection by now

        let res = client.request(request(Method::GET, addr)).await;
        let res = res.expect("GET retried on a new connection");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(&res.into_body().collect(16).await.unwrap()[..], b"ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "one new connection");
        settle().await;

        let res = client.request(request(Method::POST, addr)).await;
        let error = res.expect_err("POST is never sent twice");
        assert!(matches!(error, Error::Io(_)), "{error:?}");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "no new connection for POST"
        );
    });
}

#[test]
fn upstream_down_is_a_connect_error() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    on_core(move || async move {
        let error = Client::builder()
            .build()
            .request(request(Method::GET, addr))
            .await
            .expect_err("nothing listens there");
        assert!(error.is_connect(), "{error:?}");
    });
}

#[test]
fn silent_upstream_times_out() {
    let (silent, _) = peer(|stream| {
        std::thread::sleep(Duration::from_secs(5));
        drop(stream);
    });
    let (stalls_mid_body, _) = peer(answering(
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nonly",
    ));
    on_core(move || async move {
        let client = Client::builder()
            .read_timeout(Duration::from_millis(300))
            .build();
        let started = std::time::Instant::now();
        let error = client
            .request(request(Method::GET, silent))
            .await
            .expect_err("no answer");
        assert!(error.is_timeout(), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(3));

        let res = client
            .request(request(Method::GET, stalls_mid_body))
            .await
            .unwrap();
        let error = res.into_body().collect(64).await.expect_err("body stalls");
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn smuggling_shaped_responses_are_refused() {
    let heads = [
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent Length: 3\r\n\r\nabc",
    ];
    for head in heads {
        let (addr, _) = peer(answering(head));
        on_core(move || async move {
            let error = Client::builder()
                .build()
                .request(request(Method::GET, addr))
                .await
                .expect_err(head);
            assert!(
                matches!(error, Error::InvalidResponse(_)),
                "{head:?}: {error:?}"
            );
        });
    }
    // Bad chunk framing shows up in the body.
    for body in [
        "zz\r\nabc\r\n0\r\n\r\n",
        "3\r\nabcdef\r\n0\r\n\r\n",
        "3 x\r\nabc\r\n0\r\n\r\n",
    ] {
        let response: &'static str = Box::leak(
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{body}").into_boxed_str(),
        );
        let (addr, _) = peer(answering(response));
        on_core(move || async move {
            let res = Client::builder()
                .build()
                .request(request(Method::GET, addr))
                .await
                .unwrap();
            let error = res.into_body().collect(64).await.expect_err(body);
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{body:?}");
        });
    }
}

#[test]
fn interim_responses_are_skipped_and_until_close_bodies_read() {
    let (addr, _) = peer(|mut stream| {
        if read_request(&mut stream).is_some() {
            let _ = stream.write_all(
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil close",
            );
        }
    });
    on_core(move || async move {
        let client = Client::builder().build();
        let res = client.request(request(Method::GET, addr)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("link").is_none());
        let body = res.into_body().collect(64).await.unwrap();
        assert_eq!(&body[..], b"until close");
        let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
        assert_eq!(client.idle_connections(&uri), 0, "not reusable");
    });
}

#[test]
fn upstream_that_never_reads_hits_the_write_timeout() {
    let (addr, _) = peer(|stream| {
        std::thread::sleep(Duration::from_secs(5));
        drop(stream);
    });
    on_core(move || async move {
        let client = Client::builder()
            .write_timeout(Duration::from_millis(300))
            .build();
        // Far more than the socket buffers of both ends hold.
        let body = Body::from(vec![b'w'; 64 << 20]);
        let req = Request::post(format!("http://{addr}/")).body(body).unwrap();
        let error = client.request(req).await.expect_err("never read");
        assert!(error.is_timeout(), "{error:?}");
    });
}

#[test]
fn a_101_hands_over_the_connection_only_to_a_request_that_asked_for_it() {
    // The peer switches, sends bytes right behind the head, then echoes until EOF.
    let (addr, _) = peer(|mut stream| {
        if read_request(&mut stream).is_some() {
            let head =
                "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n";
            let _ = stream.write_all(format!("{head}early").as_bytes());
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = stream.read(&mut buf) {
                let _ = stream.write_all(&buf[..n]);
            }
        }
    });
    on_core(move || async move {
        let client = Client::builder().build();
        let asking = Request::get(format!("http://{addr}/"))
            .header("connection", "upgrade")
            .header("upgrade", "echo")
            .body(Body::empty())
            .unwrap();
        let mut res = client.request(asking).await.unwrap();
        assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(res.headers()["upgrade"], "echo");
        let mut io = coreline_http::upgrade::on(&mut res).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 5 {
            got.extend_from_slice(&io.read().await.unwrap().unwrap());
        }
        assert_eq!(got, b"early", "the bytes behind the head come first");
        io.write_all(bytes::Bytes::from_static(b"ping"))
            .await
            .unwrap();
        let mut echoed = Vec::new();
        while echoed.len() < 4 {
            echoed.extend_from_slice(&io.read().await.unwrap().unwrap());
        }
        assert_eq!(echoed, b"ping");
        io.shutdown_write().await.unwrap();
        assert!(
            io.read().await.unwrap().is_none(),
            "the peer's close follows ours"
        );
        let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
        assert_eq!(client.idle_connections(&uri), 0, "never pooled");
        // The same 101 to a request that asked for nothing is refused.
        let error = client
            .request(request(Method::GET, addr))
            .await
            .expect_err("an unasked-for 101");
        assert!(matches!(error, Error::InvalidResponse(_)), "{error:?}");
    });
}
