//! The response body as a stream: bytes already received first, then more from the
//! connection, each wait bounded by the read timeout (on the connection's one deadline). When the body ends cleanly on a
//! connection both sides keep alive, the connection goes back to the pool.

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;

use super::conn::Conn;
use super::pool::Pool;
use super::socket_body::SocketBody;
use super::upstream::Upstream;
use crate::body::Kind;
use crate::parse::{ChunkLimits, ChunkedDecoder, ResponseFraming};
use crate::Body;

/// Where the connection goes once the body has been read.
pub(super) struct Return {
    pub(super) pool: Rc<Pool>,
    pub(super) upstream: Upstream,
    /// Both sides keep the connection alive.
    pub(super) keep_alive: bool,
}

impl Return {
    /// Parks `conn` if it may serve another request: kept alive, and nothing received
    /// beyond this response.
    pub(super) fn release(self, mut conn: Box<Conn>) {
        if self.keep_alive && conn.buf.is_empty() {
            conn.drop_large_buffer();
            self.pool.put(&self.upstream, conn);
        }
    }
}

/// What is left of the body.
pub(super) enum Remaining {
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
    UntilClose,
}

/// A response body being read from its connection.
pub(super) struct BodyStream {
    pub(super) conn: Option<Box<Conn>>,
    pub(super) remaining: Remaining,
    pub(super) then: Option<Return>,
    pub(super) read_timeout: Duration,
    /// A wait for bytes is under way (its read timeout started on the connection's
    /// deadline).
    waiting: bool,
}

/// The response body for `framing`, whose first bytes are in `conn.buf`. A body that is
/// all there already is returned as bytes, and the connection released at once; a
/// Content-Length body of `splice_min` bytes or more on a plain connection can be spliced.
pub(super) fn response_body(
    mut conn: Box<Conn>,
    framing: ResponseFraming,
    then: Return,
    read_timeout: Duration,
    splice_min: u64,
) -> Body {
    let spliceable =
        matches!(framing, ResponseFraming::Length(n) if n >= splice_min) && conn.plain().is_some();
    let remaining = match framing {
        ResponseFraming::None | ResponseFraming::Length(0) => {
            then.release(conn);
            return Body::empty();
        }
        ResponseFraming::Length(n) if n <= conn.buf.len() as u64 => {
            let whole = conn.buf.split_to(n as usize).freeze();
            then.release(conn);
            return Body::from(whole);
        }
        ResponseFraming::Length(n) => Remaining::Length(n),
        ResponseFraming::Chunked => {
            Remaining::Chunked(Box::new(ChunkedDecoder::new(ChunkLimits::default())))
        }
        ResponseFraming::UntilClose => Remaining::UntilClose,
    };
    let len = match remaining {
        Remaining::Length(n) => Some(n),
        _ => None,
    };
    let stream = BodyStream {
        conn: Some(conn),
        remaining,
        then: Some(then),
        read_timeout,
        waiting: false,
    };
    match len {
        Some(_) if spliceable => Body {
            kind: Kind::Socket(Box::new(SocketBody::new(stream))),
        },
        Some(n) => Body::from_stream_sized(n, stream),
        None => Body::from_stream(stream),
    }
}

/// What the buffered bytes gave.
enum Step {
    Data(Bytes),
    End,
    NeedMore,
}

impl BodyStream {
    /// Takes the next piece of body from the bytes received so far.
    fn step(&mut self, conn: &mut Conn) -> io::Result<Step> {
        let buf = &mut conn.buf;
        match &mut self.remaining {
            Remaining::Length(0) => Ok(Step::End),
            Remaining::Length(_) | Remaining::UntilClose if buf.is_empty() => Ok(Step::NeedMore),
            Remaining::Length(left) => {
                let n = (*left).min(buf.len() as u64);
                *left -= n;
                Ok(Step::Data(buf.split_to(n as usize).freeze()))
            }
            Remaining::UntilClose => Ok(Step::Data(buf.split().freeze())),
            Remaining::Chunked(decoder) => loop {
                if decoder.is_done() {
                    return Ok(Step::End);
                }
                let decoded = decoder
                    .decode(buf)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.reason))?;
                let mut used = buf.split_to(decoded.consumed);
                if !decoded.data.is_empty() {
                    return Ok(Step::Data(used.split_off(decoded.data.start).freeze()));
                }
                if decoded.consumed == 0 && !decoder.is_done() {
                    return Ok(Step::NeedMore);
                }
            },
        }
    }

    /// The stream ended (EOF): the end of an until-close body, else a truncation.
    fn at_eof(&self) -> io::Result<Step> {
        match self.remaining {
            Remaining::UntilClose => Ok(Step::End),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed the connection mid-body",
            )),
        }
    }
}

impl Stream for BodyStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(mut conn) = this.conn.take() else {
            return Poll::Ready(None);
        };
        loop {
            let step = match this.step(&mut conn) {
                Ok(Step::NeedMore) => {
                    match conn.poll_fill_within(cx, this.read_timeout, &mut this.waiting) {
                        Poll::Ready(Ok(0)) => this.at_eof(),
                        Poll::Ready(Ok(_)) => continue,
                        Poll::Ready(Err(e)) => Err(e),
                        Poll::Pending => {
                            this.conn = Some(conn);
                            return Poll::Pending;
                        }
                    }
                }
                other => other,
            };
            return match step {
                Ok(Step::Data(data)) => {
                    this.conn = Some(conn);
                    Poll::Ready(Some(Ok(data)))
                }
                Ok(Step::End) => {
                    if let Some(then) = this.then.take() {
                        then.release(conn);
                    }
                    Poll::Ready(None)
                }
                Ok(Step::NeedMore) => unreachable!("handled above"),
                // The connection closes here (dropped); the stream ends after the error.
                Err(e) => Poll::Ready(Some(Err(e))),
            };
        }
    }
}
