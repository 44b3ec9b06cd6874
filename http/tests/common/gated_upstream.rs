//! Upstreams and clients for the proxy attack tests: an upstream that holds each request
//! until a gate opens (and counts the exchanges it holds and the connections it has
//! open), or streams a body larger than the kernel's buffers; an in-process server whose
//! `/up/` routes go through the proxy; raw clients whose responses are read without
//! blocking.
#![allow(dead_code)]

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coreline_http::proxy::ProxyBuilder;
use coreline_http::{Body, Handler, Timeouts};
use coreline_runtime::Cores;
use http::{Request, Response};

/// What the upstream answers `/up/big` with: more than loopback's socket buffers hold.
pub const BIG_BODY: u64 = 64 << 20;

/// A loopback upstream on threads, one per connection; each answers one request and
/// closes. `GET .../big`: a [`BIG_BODY`] Content-Length body written as fast as the peer
/// takes it; anything else: `ok` once the gate is open.
pub struct Upstream {
    pub addr: SocketAddr,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    gate_open: AtomicBool,
    /// Requests read and waiting at the gate.
    held: AtomicUsize,
    /// Connections accepted and not closed yet.
    open: AtomicUsize,
    /// `big` bodies written to the end, and body bytes written in all.
    completed: AtomicUsize,
    written: AtomicU64,
}

impl Upstream {
    /// Starts the upstream with its gate closed.
    pub fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                state.open.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    answer(stream, &state);
                    state.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Upstream { addr, state }
    }

    /// Opens or closes the gate.
    pub fn gate(&self, open: bool) {
        self.state.gate_open.store(open, Ordering::SeqCst);
    }

    /// Requests waiting at the gate.
    pub fn held(&self) -> usize {
        self.state.held.load(Ordering::SeqCst)
    }

    /// Connections open.
    pub fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// `big` bodies written to their end.
    pub fn completed(&self) -> usize {
        self.state.completed.load(Ordering::SeqCst)
    }

    /// Body bytes written in all.
    pub fn written(&self) -> u64 {
        self.state.written.load(Ordering::SeqCst)
    }
}

fn answer(mut stream: TcpStream, state: &State) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head[..head.iter().position(|&b| b == b'\r').unwrap()])
        .into_owned();
    if line.contains("/big ") {
        let _ = write_big(&mut stream, state);
        return;
    }
    state.held.fetch_add(1, Ordering::SeqCst);
    while !state.gate_open.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
    state.held.fetch_sub(1, Ordering::SeqCst);
    let _ =
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

fn write_big(stream: &mut TcpStream, state: &State) -> std::io::Result<()> {
    let head =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG_BODY}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    let block = [b'b'; 64 * 1024];
    let mut left = BIG_BODY;
    while left > 0 {
        let n = stream.write(&block[..block.len().min(left as usize)])?;
        state.written.fetch_add(n as u64, Ordering::Relaxed);
        left -= n as u64;
    }
    state.completed.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// One core serving `/up/...` through a proxy to `upstream` (`max` exchanges at once,
/// `queue` waiting) and the test handler's routes otherwise, with metrics on.
pub fn serve_proxy(
    upstream: SocketAddr,
    max: usize,
    queue: usize,
    timeouts: Timeouts,
) -> crate::common::Running {
    let proxy = ProxyBuilder::new(vec![format!("/up/=http://{upstream}/").parse().unwrap()])
        .max_connections(max)
        .max_queue(queue);
    let server = coreline_http::Server::builder()
        .listen("127.0.0.1:0".parse().unwrap())
        .cores(Cores::Count(1))
        .timeouts(timeouts)
        .metrics(true)
        .build(move || {
            let proxy = proxy.build();
            move |req: Request<Body>| -> Pin<Box<dyn Future<Output = Response<Body>>>> {
                if req.uri().path().starts_with("/up/") {
                    proxy.call(req)
                } else {
                    Box::pin(crate::common::test_handler(req))
                }
            }
        })
        .expect("build server");
    crate::common::run_on_thread(server)
}

/// The server's open connections.
pub fn connections_open(server: &crate::common::Running) -> u64 {
    let snap = server
        .handle
        .metrics_snapshot_blocking(Duration::from_secs(5))
        .expect("the core answers with its metrics");
    snap.cores[0].connections_open
}

/// A client that sent one request and reads its response without blocking.
pub struct Pending {
    pub stream: TcpStream,
    received: Vec<u8>,
}

impl Pending {
    /// Connects and sends `GET path`.
    pub fn send(addr: SocketAddr, path: &str) -> Pending {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        stream.set_nonblocking(true).unwrap();
        Pending {
            stream,
            received: Vec::new(),
        }
    }

    /// Reads what has arrived; the status and body once the response is complete.
    pub fn poll(&mut self) -> Option<(u16, String)> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        let at = self.received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&self.received[..at]).to_ascii_lowercase();
        let status = head.get(9..12)?.parse().ok()?;
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))?
            .trim()
            .parse()
            .ok()?;
        let body = self.received.get(at..at + length)?;
        Some((status, String::from_utf8_lossy(body).into_owned()))
    }
}
