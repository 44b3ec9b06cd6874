//! `Builder::tcp_nodelay`: a response written in several small sends (a streamed body, one
//! send per chunk) stalls for the client's delayed ACK (~40 ms on Linux) when Nagle is on,
//! and does not with `TCP_NODELAY`. Keep-alive requests on loopback, one at a time.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use coreline_http::{Body, Server};
use coreline_runtime::Cores;
use futures_core::Stream;
use http::{Request, Response};

/// Two small chunks, yielded one by one.
struct TwoChunks(u8);

impl Stream for TwoChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.0 += 1;
        Poll::Ready((this.0 <= 2).then(|| Ok(Bytes::from_static(b"part\n"))))
    }
}

/// Median latency of `n` sequential keep-alive requests to a server with `nodelay`.
fn median_latency(nodelay: bool, n: usize) -> Duration {
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::List(vec![0]))
        .tcp_nodelay(nodelay)
        .build(|| |_req: Request<Body>| async { Response::new(Body::from_stream(TwoChunks(0))) })
        .expect("build server");
    let addr = server.local_addrs()[0];
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run().expect("server run"));
    assert!(handle.wait_ready(Duration::from_secs(10)));
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_nodelay(true).unwrap(); // the client's own writes are never delayed
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut times = Vec::with_capacity(n);
    let mut buf = [0u8; 4096];
    for _ in 0..n {
        let start = Instant::now();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"0\r\n\r\n") {
            let k = conn.read(&mut buf).unwrap();
            assert!(k > 0, "server closed");
            got.extend_from_slice(&buf[..k]);
        }
        times.push(start.elapsed());
        assert_eq!(got.windows(5).filter(|w| w == b"part\n").count(), 2);
    }
    drop(conn);
    handle.shutdown();
    thread.join().unwrap();
    times.sort();
    times[n / 2]
}

#[test]
fn nagle_stalls_small_writes_for_the_delayed_ack_and_nodelay_does_not() {
    let off = median_latency(false, 15);
    let on = median_latency(true, 15);
    println!("median latency: TCP_NODELAY off {off:?}, on {on:?}");
    // The delayed-ACK timer is at least 40 ms less jitter (TCP_DELACK_MIN); a loopback
    // response without it takes microseconds, so even a loaded machine keeps the two
    // medians apart by far more than 2x.
    assert!(off >= Duration::from_millis(30), "off: {off:?}");
    assert!(on < off / 2, "on: {on:?}, off: {off:?}");
}
