//! Incremental HTTP/1.1 response parsing straight from the receive chunks.
//!
//! Heads are parsed with httparse in place; only an incomplete head (or chunk-size line)
//! at the end of a chunk is copied, into a carry buffer that is reused. Bodies are only
//! counted, never copied: Content-Length, chunked (sizes, extensions, trailers), no body
//! (HEAD, 1xx, 204, 304), or read-until-close.

/// Longest response head accepted (more is a parse error, as in most clients).
const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

/// A completed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub status: u16,
    /// The server closes after this response (`Connection: close`, HTTP/1.0 without
    /// keep-alive, or a body delimited by the close).
    pub close: bool,
}

/// What the connection should do after a [`Parser::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep receiving.
    More,
    /// A response with `close` completed: bytes after it are ignored, the connection is done.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    UntilClose,
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
}

/// Parses the responses of one connection, in order.
pub struct Parser {
    state: State,
    current: Done,
    carry: Vec<u8>,
    /// Responses to HEAD requests carry no body.
    head_only: bool,
}

impl Parser {
    /// A parser for responses to HEAD requests if `head_only`, else to other methods.
    pub fn new(head_only: bool) -> Parser {
        Parser {
            state: State::Head,
            current: Done {
                status: 0,
                close: false,
            },
            carry: Vec::new(),
            head_only,
        }
    }

    /// Forgets any partial response (for a new connection).
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.carry.clear();
    }

    /// Whether the parser is between responses (nothing partial buffered).
    pub fn idle(&self) -> bool {
        self.state == State::Head && self.carry.is_empty()
    }

    /// Parses `data`, calling `on` for each response it completes.
    pub fn feed(&mut self, data: &[u8], on: &mut impl FnMut(Done)) -> Result<Flow, String> {
        if self.carry.is_empty() {
            let (flow, used) = self.process(data, on)?;
            if flow == Flow::More {
                self.carry.extend_from_slice(&data[used..]);
            }
            return Ok(flow);
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(data);
        let result = self.process(&buf, on);
        if let Ok((Flow::More, used)) = result {
            buf.drain(..used);
        } else {
            buf.clear();
        }
        self.carry = buf; // keeps its capacity for the next split head
        result.map(|(flow, _)| flow)
    }

    /// The peer closed: completes a read-until-close body. `Ok(false)` if a response was
    /// cut short (a read error for the caller), `Ok(true)` if the close was clean.
    pub fn eof(&mut self, on: &mut impl FnMut(Done)) -> bool {
        match self.state {
            State::UntilClose => {
                on(self.current);
                self.reset();
                true
            }
            _ => self.idle(),
        }
    }

    /// Parses from `data`; returns the flow and how many bytes were used (the rest is an
    /// incomplete head or line to carry).
    fn process(&mut self, data: &[u8], on: &mut impl FnMut(Done)) -> Result<(Flow, usize), String> {
        let mut i = 0;
        loop {
            let rest = &data[i..];
            match self.state {
                State::Head => {
                    if rest.is_empty() {
                        return Ok((Flow::More, i));
                    }
                    match self.head(rest)? {
                        None if rest.len() > MAX_HEAD => {
                            return Err(format!("response head over {MAX_HEAD} bytes"))
                        }
                        None => return Ok((Flow::More, i)),
                        Some(n) => i += n,
                    }
                }
                State::Body(left) | State::ChunkData(left) => {
                    let take = left.min(rest.len() as u64);
                    i += take as usize;
                    let left = left - take;
                    self.state = match (self.state, left) {
                        (State::Body(_), 0) => State::Head,
                        (State::Body(_), _) => State::Body(left),
                        (_, 0) => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                    if left > 0 {
                        return Ok((Flow::More, i));
                    }
                    if self.state == State::Head && self.complete(on) {
                        return Ok((Flow::Closed, i));
                    }
                }
                State::UntilClose => return Ok((Flow::More, data.len())),
                State::ChunkSize | State::ChunkEnd | State::Trailers => {
                    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                        if rest.len() > MAX_LINE {
                            return Err("chunk line too long".into());
                        }
                        return Ok((Flow::More, i));
                    };
                    let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
                    i += nl + 1;
                    match self.state {
                        State::ChunkSize => {
                            let size = chunk_size(line)?;
                            self.state = if size == 0 {
                                State::Trailers
                            } else {
                                State::ChunkData(size)
                            };
                        }
                        State::ChunkEnd if line.is_empty() => self.state = State::ChunkSize,
                        State::ChunkEnd => return Err("chunk data longer than its size".into()),
                        _ if line.is_empty() => {
                            self.state = State::Head;
                            if self.complete(on) {
                                return Ok((Flow::Closed, i));
                            }
                        }
                        _ => {} // a trailer field: ignored
                    }
                }
            }
        }
    }

    /// Parses a head at the start of `data`: `None` if incomplete, else its length, with
    /// the state set for the body (and the response completed if it has none).
    fn head(&mut self, data: &[u8]) -> Result<Option<usize>, String> {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut res = httparse::Response::new(&mut headers);
        let n = match res.parse(data) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("bad response head: {e}")),
        };
        let status = res.code.unwrap_or(0);
        if status == 101 {
            return Err("101 Switching Protocols is not supported".into());
        }
        if (100..200).contains(&status) {
            return Ok(Some(n)); // interim response (100 Continue): the real one follows
        }
        let (mut length, mut chunked, mut close, mut keep_alive) = (None, false, false, false);
        for h in res.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or("bad Content-Length")?;
                if length.is_some_and(|l| l != v) {
                    return Err("conflicting Content-Length headers".into());
                }
                length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
                chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
        }
        let http10 = res.version == Some(0);
        self.current = Done {
            status,
            close: close || (http10 && !keep_alive),
        };
        self.state = if self.head_only || status == 204 || status == 304 {
            State::Body(0)
        } else if chunked {
            State::ChunkSize
        } else if let Some(len) = length {
            State::Body(len)
        } else {
            self.current.close = true;
            State::UntilClose
        };
        Ok(Some(n))
    }

    /// Reports the current response; `true` if the connection ends with it.
    fn complete(&mut self, on: &mut impl FnMut(Done)) -> bool {
        on(self.current);
        self.current.close
    }
}

/// The hex size at the start of a chunk-size line (extensions after `;` ignored).
fn chunk_size(line: &[u8]) -> Result<u64, String> {
    let hex = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if hex.is_empty() || hex.len() > 15 {
        return Err("bad chunk size".into());
    }
    let mut size = 0u64;
    for &b in hex {
        let d = (b as char).to_digit(16).ok_or("bad chunk size")?;
        size = size * 16 + u64::from(d);
    }
    Ok(size)
}

#[cfg(test)]
#[path = "response/tests.rs"]
mod tests;
