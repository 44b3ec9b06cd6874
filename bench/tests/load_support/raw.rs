//! A scripted HTTP server on plain std sockets, for what a real server will not do on
//! demand: hold answers until a pipeline is full, split responses across segments, close
//! after a few requests, delimit bodies by the close, or never answer at all.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How the server treats each connection.
#[derive(Debug, Clone, Copy)]
pub enum Script {
    /// Answer nothing until `n` requests are buffered, then all `n` at once, in mixed
    /// framing (Content-Length, chunked), split across two segments.
    Pipeline(usize),
    /// Answer requests one by one; the `n`th on a connection says `Connection: close` and
    /// the connection is closed after it.
    CloseAfter(u64),
    /// One request per connection, answered and closed (every other answer has no
    /// Content-Length: its body ends with the close).
    CloseEach,
    /// Read but never answer.
    Silent,
}

/// Counters the tests check.
#[derive(Debug, Default)]
pub struct Counts {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    /// Requests that carried `Connection: close`.
    pub with_close: AtomicU64,
    /// Most requests seen buffered at once on a connection.
    pub max_buffered: AtomicU64,
}

/// The running server; stopped on drop.
pub struct Raw {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Raw {
    pub fn start(script: Script) -> Raw {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counts.clone(), stop.clone());
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                c.connections.fetch_add(1, Ordering::Relaxed);
                let (c, s) = (c.clone(), s.clone());
                match script {
                    // Short connections are served in turn (no thread per connection).
                    Script::CloseEach => serve(stream, script, &c, &s),
                    _ => {
                        thread::spawn(move || serve(stream, script, &c, &s));
                    }
                }
            }
        });
        Raw {
            addr,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn get(&self, which: fn(&Counts) -> &AtomicU64) -> u64 {
        which(&self.counts).load(Ordering::Relaxed)
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Complete request heads at the start of `buf` (GET requests: no bodies).
fn heads(buf: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut from = 0;
    while let Some(i) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
        from += i + 4;
        ends.push(from);
    }
    ends
}

fn serve(mut stream: TcpStream, script: Script, c: &Counts, stop: &AtomicBool) {
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = Vec::new();
    let mut answered_here = 0u64;
    let mut chunk = [0u8; 16384];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return,
        }
        let ends = heads(&buf);
        c.max_buffered
            .fetch_max(ends.len() as u64, Ordering::Relaxed);
        let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
        match script {
            Script::Silent => buf.clear(),
            Script::Pipeline(n) => {
                if ends.len() < n {
                    continue;
                }
                let mut out = Vec::new();
                for i in 0..n {
                    out.extend_from_slice(match i % 3 {
                        0 => &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..],
                        1 => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n",
                        _ => b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
                    });
                }
                buf.drain(..ends[n - 1]);
                c.requests.fetch_add(n as u64, Ordering::Relaxed);
                // Two segments, split inside a head, with a pause between them.
                let cut = out.len() / 2 + 1;
                if stream.write_all(&out[..cut]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(1));
                if stream.write_all(&out[cut..]).is_err() {
                    return;
                }
            }
            Script::CloseAfter(limit) => {
                for _ in &ends {
                    answered_here += 1;
                    c.requests.fetch_add(1, Ordering::Relaxed);
                    let last = answered_here == limit;
                    let res: &[u8] = if last {
                        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    };
                    if stream.write_all(res).is_err() || last {
                        return;
                    }
                }
                if let Some(&end) = ends.last() {
                    buf.drain(..end);
                }
            }
            Script::CloseEach => {
                if ends.is_empty() {
                    continue;
                }
                let n = c.requests.fetch_add(1, Ordering::Relaxed);
                if text.contains("\r\nconnection: close\r\n") {
                    c.with_close.fetch_add(1, Ordering::Relaxed);
                }
                let res: &[u8] = if n.is_multiple_of(2) {
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
                } else {
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until the close"
                };
                let _ = stream.write_all(res);
                return;
            }
        }
    }
}
