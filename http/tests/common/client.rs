//! A raw-byte client that parses responses strictly.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::transport::Stream;

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("<binary>")
    }
}

/// A raw client connection with a read buffer (over TLS in a target that runs over TLS:
/// then "raw bytes" are the plaintext inside TLS records).
pub struct Client {
    pub stream: Stream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = Stream::connect(addr);
        let tcp = stream.tcp();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> &mut Self {
        self.stream.write_all(bytes).expect("send");
        self
    }

    /// Reads more bytes into the buffer; false on EOF or error.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Bytes received so far and not yet parsed.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Reads whatever one `read` returns (for checking that a batch arrived at once).
    pub fn read_once(&mut self) -> usize {
        let before = self.buf.len();
        self.fill();
        self.buf.len() - before
    }

    /// Reads and parses one response (`head_request`: its body is not sent).
    pub fn response(&mut self, head_request: bool) -> Resp {
        self.try_response(head_request)
            .expect("a complete response")
    }

    pub fn try_response(&mut self, head_request: bool) -> Option<Resp> {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("ASCII head");
        self.buf.drain(..end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(
            status_line.starts_with("HTTP/1.1 "),
            "status line: {status_line:?}"
        );
        let status: u16 = status_line[9..12].parse().expect("status code");
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').expect("header line");
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        let mut resp = Resp {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        let no_body = head_request || status < 200 || status == 204 || status == 304;
        if no_body {
            return Some(resp);
        }
        if let Some(len) = resp.header("content-length") {
            let len: usize = len.parse().expect("content-length");
            while self.buf.len() < len {
                if !self.fill() {
                    return None;
                }
            }
            resp.body = self.buf.drain(..len).collect();
        } else if resp.header("transfer-encoding") == Some("chunked") {
            resp.body = self.dechunk()?;
        } else {
            while self.fill() {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Some(resp)
    }

    fn dechunk(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                if !self.fill() {
                    return None;
                }
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&self.buf[..line_end]).ok()?, 16).ok()?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                if !self.fill() {
                    return None;
                }
            }
            body.extend(self.buf.drain(..size));
            assert_eq!(&self.buf[..2], b"\r\n", "chunk data must end in CRLF");
            self.buf.drain(..2);
            if size == 0 {
                return Some(body);
            }
        }
    }

    /// Whether the server closes the connection within `within` without sending more.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        self.stream.tcp().set_read_timeout(Some(within)).unwrap();
        let mut b = [0u8; 4096];
        let r = self.stream.read(&mut b);
        self.stream
            .tcp()
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        match r {
            Ok(0) => self.buf.is_empty(),
            // (Over TLS, a close without close_notify reads as UnexpectedEof.)
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof
            ),
            Ok(n) => {
                self.buf.extend_from_slice(&b[..n]);
                false
            }
        }
    }

    /// Whether the connection stays open (no EOF, no data) for `for_`.
    pub fn stays_open(&mut self, for_: Duration) -> bool {
        let end = Instant::now() + for_;
        let quiet = self.stream.quiet_for(for_);
        self.stream
            .tcp()
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        quiet && Instant::now() >= end - Duration::from_millis(5)
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sends `raw` on a new connection and reads one response; also says whether the server
/// closed the connection afterwards.
pub fn one(addr: SocketAddr, raw: &[u8]) -> (Resp, bool) {
    let mut c = Client::connect(addr);
    c.send(raw);
    let r = c.response(raw.starts_with(b"HEAD "));
    // Only a response announcing the close is waited on (a kept-alive one would just time out).
    let closed = r.closes() && c.closed_within(Duration::from_secs(3));
    (r, closed)
}

/// Asserts `raw` gets `status` with `Connection: close`, and the connection closes.
pub fn refused(addr: SocketAddr, raw: &[u8], status: u16) {
    let (r, closed) = one(addr, raw);
    assert_eq!(
        r.status,
        status,
        "for {:?}: {}",
        String::from_utf8_lossy(raw),
        r.head
    );
    assert!(
        r.closes(),
        "error responses say Connection: close: {}",
        r.head
    );
    assert!(
        closed,
        "connection must close after {:?}",
        String::from_utf8_lossy(raw)
    );
}

/// Asserts the server still answers a plain request.
pub fn still_serves(addr: SocketAddr) {
    let (r, _) = one(
        addr,
        b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((r.status, r.body_str()), (200, "Hello, World!"));
}
