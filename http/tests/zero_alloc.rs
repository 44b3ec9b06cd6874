//! The `/plaintext` path of the `coreline` binary allocates nothing per request once warm:
//! a counting global allocator (process-wide, so it also sees the server's core thread)
//! must report a small, constant number of allocations over many keep-alive requests,
//! plain and pipelined. The router is the binary's own code, compiled in here. `/plaintext`
//! is a fixed response, answered from the parsed head; a route the router's `call`
//! answers (its 404) takes the built path (`http::Request` in, `http::Response` out),
//! which must not allocate either.
//!
//! Also: a large `Bytes` response body goes to the socket from its own storage, never
//! copied into a buffer of the server's.

#[path = "../src/bin/coreline/files.rs"]
#[allow(dead_code)]
mod files;
#[path = "../src/bin/coreline/routes.rs"]
mod routes;

use std::alloc::System;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use coreline_http::{recycle, response, Body, Limits, Server, Timeouts};
use coreline_runtime::Cores;
use http::{Request, StatusCode};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: zero-alloc\r\nAccept: */*\r\n\r\n";
/// A request the router's `call` answers (404): built as an `http::Request`.
const BUILT_REQUEST: &[u8] = b"GET /nothing HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: zero-alloc\r\nAccept: */*\r\n\r\n";

/// Sends `depth` pipelined requests per write, `rounds` times, reading every response
/// into a fixed buffer (the client side allocates nothing either).
fn run(stream: &mut TcpStream, batch: &[u8], response_len: usize, depth: usize, rounds: usize) {
    let mut buf = [0u8; 64 * 1024];
    for _ in 0..rounds {
        stream.write_all(batch).unwrap();
        let mut got = 0;
        while got < response_len * depth {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "server closed");
            got += n;
        }
        assert_eq!(got, response_len * depth);
    }
}

#[test]
fn plaintext_allocates_nothing_per_request() {
    check(false, REQUEST, "200 OK", "Hello, World!");
}

#[test]
fn a_built_request_allocates_nothing_per_request() {
    check(false, BUILT_REQUEST, "404 Not Found", "not found\n");
}

/// The latency metrics record into histograms allocated up front: still nothing per
/// request (the accept-queue sampler thread allocates nothing per sample either).
#[test]
fn plaintext_allocates_nothing_per_request_with_metrics_on() {
    check(true, REQUEST, "200 OK", "Hello, World!");
}

/// The allocator's counters are process-wide: one measurement at a time, whatever
/// `--test-threads` says.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Keep-alive and pipelined rounds of `request`, whose response starts with `status` and
/// ends with `body`.
fn check(metrics: bool, request: &[u8], status: &str, body: &str) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Long timeouts: the sweeper ticks (every 500 ms) are not request work.
    let timeouts = Timeouts::default().header_read(Duration::from_secs(60));
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .timeouts(timeouts)
        .limits(Limits::default().max_requests_per_connection(0))
        .metrics(metrics)
        .build(|| routes::Router::new(None, None))
        .unwrap();
    let addr = server.local_addrs()[0];
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    assert!(handle.wait_ready(Duration::from_secs(10)));

    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(request).unwrap();
    let mut first = vec![0u8; 4096];
    let n = stream.read(&mut first).unwrap();
    let text = String::from_utf8_lossy(&first[..n]).to_string();
    assert!(
        text.starts_with(&format!("HTTP/1.1 {status}\r\n")) && text.ends_with(body),
        "{text}"
    );
    let len = n;
    let pipelined: Vec<u8> = request.repeat(16);

    // Warm up: pools, header map capacity, slab and queue growth.
    run(&mut stream, request, len, 1, 2_000);
    run(&mut stream, &pipelined, len, 16, 200);

    let mut results = Vec::new();
    for (depth, rounds) in [(1, 2_000), (1, 20_000), (16, 200), (16, 2_000)] {
        let batch = if depth == 1 { request } else { &pipelined[..] };
        let region = Region::new(GLOBAL);
        run(&mut stream, batch, len, depth, rounds);
        let stats = region.change();
        eprintln!(
            "{} requests ({depth} per write): {} allocations, {} reallocations, {} bytes",
            depth * rounds,
            stats.allocations,
            stats.reallocations,
            stats.bytes_allocated
        );
        results.push((depth * rounds, stats.allocations + stats.reallocations));
    }
    for (requests, allocs) in results {
        // A handful may come from sweeper ticks and the runtime's timers; nothing that
        // scales with the request count.
        assert!(
            allocs <= 16,
            "{allocs} allocations for {requests} requests: the request path allocates"
        );
    }
    drop(stream);
    handle.shutdown();
    thread.join().unwrap().unwrap();
}

/// A 1 MiB `Bytes` body, shared with the handler (so a conversion into a `Vec` would have
/// to copy it), is sent without the server allocating anything near its size.
#[test]
fn a_large_bytes_body_is_not_copied() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    const SIZE: usize = 1024 * 1024;
    let big = Bytes::from(vec![b'x'; SIZE]);
    let server = Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .build(move || {
            let big = big.clone();
            move |req: Request<Body>| {
                recycle(req);
                let body = Body::from(big.clone());
                async move { response(StatusCode::OK, body) }
            }
        })
        .unwrap();
    let addr = server.local_addrs()[0];
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());
    assert!(handle.wait_ready(Duration::from_secs(10)));

    let mut stream = TcpStream::connect(addr).unwrap();
    let request = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = [0u8; 64 * 1024];
    let mut get = |stream: &mut TcpStream| {
        stream.write_all(request).unwrap();
        let mut got = 0;
        let mut head_len = None;
        loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "server closed");
            if head_len.is_none() {
                let end = buf[..n].windows(4).position(|w| w == b"\r\n\r\n");
                let end = end.expect("head in the first read") + 4;
                assert!(buf.starts_with(b"HTTP/1.1 200 OK\r\n"));
                head_len = Some(end);
            }
            got += n;
            if got == head_len.unwrap() + SIZE {
                return;
            }
        }
    };
    get(&mut stream); // warm up: pools, slab
    const ROUNDS: usize = 8;
    let region = Region::new(GLOBAL);
    for _ in 0..ROUNDS {
        get(&mut stream);
    }
    let stats = region.change();
    eprintln!(
        "{ROUNDS} responses of {SIZE} bytes: {} allocations, {} bytes allocated",
        stats.allocations + stats.reallocations,
        stats.bytes_allocated
    );
    assert!(
        stats.bytes_allocated < 64 * 1024,
        "{} bytes allocated for {ROUNDS} responses of 1 MiB: the body was copied",
        stats.bytes_allocated
    );
    drop(stream);
    handle.shutdown();
    thread.join().unwrap().unwrap();
}

/// Through `--proxy` to an upstream coreline (both in this process, the upstream
/// allocating nothing per request): the proxy's allocations per request are a constant
/// few, and this bound keeps any added one from going unnoticed. Those left include the
/// head sent upstream and the exchange's boxed future.
#[test]
fn proxied_plaintext_allocates_a_few_per_request() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let start = |proxy: Option<coreline_http::proxy::ProxyBuilder>| {
        let server = Server::builder()
            .listen("127.0.0.1:0".parse().unwrap())
            .cores(Cores::Count(1))
            .limits(Limits::default().max_requests_per_connection(0))
            .build(move || routes::Router::new(None, proxy.as_ref()))
            .unwrap();
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let thread = std::thread::spawn(move || server.run());
        assert!(handle.wait_ready(Duration::from_secs(10)));
        (addr, handle, thread)
    };
    let upstream = start(None);
    let route = format!("/proxy/=http://{}/", upstream.0).parse().unwrap();
    let proxy = start(Some(coreline_http::proxy::ProxyBuilder::new(vec![route])));

    let request = b"GET /proxy/plaintext HTTP/1.1\r\nHost: x\r\nUser-Agent: zero-alloc\r\n\r\n";
    let mut stream = TcpStream::connect(proxy.0).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(request).unwrap();
    let mut first = vec![0u8; 4096];
    let len = stream.read(&mut first).unwrap();
    let text = String::from_utf8_lossy(&first[..len]).to_string();
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("Hello, World!"),
        "{text}"
    );
    run(&mut stream, request, len, 1, 2_000); // warm up
    const REQUESTS: usize = 2_000;
    let region = Region::new(GLOBAL);
    run(&mut stream, request, len, 1, REQUESTS);
    let stats = region.change();
    let allocs = stats.allocations + stats.reallocations;
    eprintln!("{REQUESTS} proxied requests: {allocs} allocations");
    // 4 a request when this bound was set; the rest is slack for timer and sweeper ticks.
    assert!(
        allocs <= 4 * REQUESTS + 16,
        "{allocs} allocations for {REQUESTS} proxied requests"
    );
    drop(stream);
    for (_, handle, thread) in [proxy, upstream] {
        handle.shutdown();
        thread.join().unwrap().unwrap();
    }
}
