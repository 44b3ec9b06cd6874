//! Reading a request body from the connection: Content-Length or chunked framing, the
//! body limit, `100 Continue`, and the body-read timeout and minimum rate; and [`BodySource`], through
//! which a request [`Body`](crate::Body) reaches this.

use std::io;

use bytes::{Buf, Bytes};
use http::StatusCode;

use super::body::Unread;
use super::io::{ConnIo, Recv};
use crate::body::{BodySource, ReadLater};
use crate::clock;
use crate::parse::HeadError;

/// One step of taking body data from what is already buffered.
enum Step {
    Data(Bytes),
    Done,
    NeedMore,
    Failed,
}

impl ConnIo {
    /// The next piece of the body of request `seq`, reading from the socket as needed.
    pub(crate) async fn read_body(&self, seq: u32) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(ready) = self.read_buffered(seq) {
                return ready;
            }
            self.queue_continue_if_pending();
            // Before waiting for the client, send what it may be waiting for: a 100
            // Continue, earlier pipelined responses, or (for a body streamed back) the
            // response head.
            let pending = !self.out.borrow().is_empty();
            if pending {
                self.flush().await?;
            }
            let before = self.inbuf.borrow().len();
            self.begin_body_wait();
            let received = self.recv(false).await;
            self.end_body_wait(before);
            let failure = match received {
                Recv::Data => continue,
                Recv::Eof => (StatusCode::BAD_REQUEST, "request body cut short"),
                Recv::TimedOut => (
                    StatusCode::REQUEST_TIMEOUT,
                    "request body not received in time",
                ),
                Recv::Draining => continue,
                Recv::Failed(e) => {
                    self.fail_body(seq, StatusCode::BAD_REQUEST, "request body read failed");
                    return Err(e);
                }
            };
            self.fail_body(seq, failure.0, failure.1);
        }
    }

    /// Sets the deadline of a wait for body bytes: the body-read timeout, or sooner if the
    /// body falls below the minimum rate by then.
    fn begin_body_wait(&self) {
        let t = &self.registry.config.timeouts;
        let now = clock::now_ms();
        let timeout = now.saturating_add(t.body_read.as_millis() as u64);
        let by_rate = self.body.borrow_mut().as_mut().map_or(u64::MAX, |st| {
            st.rate
                .begin_wait(now, t.min_body_rate, t.min_rate_grace, 0)
        });
        self.set_deadline_at(timeout.min(by_rate));
    }

    /// A wait for body bytes ended: counts what it received (every byte, framing
    /// included: the input held `before` bytes when it began) and how long it took.
    fn end_body_wait(&self, before: usize) {
        let received = self.inbuf.borrow().len().saturating_sub(before);
        if let Some(st) = self.body.borrow_mut().as_mut() {
            st.rate.moved(clock::now_ms(), received as u64);
        }
    }

    /// The next piece of the body of request `seq` if no socket read is needed: data, the
    /// end, or an error; `None` if the socket must be read first.
    fn read_buffered(&self, seq: u32) -> Option<io::Result<Option<Bytes>>> {
        if self.body_seq.get() != seq {
            return Some(Err(io::Error::other(
                "the request this body belongs to is over",
            )));
        }
        if let Some(e) = self.body_error() {
            return Some(Err(error_for(e)));
        }
        match self.take_buffered() {
            Step::Data(b) => Some(Ok(Some(b))),
            Step::Done => Some(Ok(None)),
            Step::Failed => self.body_error().map(|e| Err(error_for(e))),
            Step::NeedMore => None,
        }
    }

    /// Decodes body data from what is buffered, without reading the socket.
    fn take_buffered(&self) -> Step {
        let mut body = self.body.borrow_mut();
        let Some(st) = body.as_mut() else {
            return Step::Done;
        };
        let mut inbuf = self.inbuf.borrow_mut();
        let data = match &mut st.unread {
            Unread::Done => return Step::Done,
            Unread::Length(remaining) => {
                if inbuf.is_empty() {
                    return Step::NeedMore;
                }
                let n = (*remaining).min(inbuf.len() as u64) as usize;
                *remaining -= n as u64;
                if *remaining == 0 {
                    st.unread = Unread::Done;
                }
                inbuf.split_to(n).freeze()
            }
            Unread::Chunked(chunked) => loop {
                let d = match chunked.decoder.decode(&inbuf) {
                    Ok(d) => d,
                    Err(e) => {
                        st.set_error(e);
                        return Step::Failed;
                    }
                };
                if !d.data.is_empty() {
                    chunked.read += d.data.len() as u64;
                    if chunked.read > self.registry.config.limits.max_body {
                        st.set_error(HeadError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "request body too large",
                        ));
                        return Step::Failed;
                    }
                    break inbuf.split_to(d.consumed).freeze().slice(d.data);
                }
                inbuf.advance(d.consumed);
                if chunked.decoder.is_done() {
                    st.unread = Unread::Done;
                    return Step::Done;
                }
                if d.consumed == 0 {
                    return Step::NeedMore;
                }
            },
        };
        st.continue_pending = false;
        Step::Data(data)
    }

    /// Reads and drops the rest of the body if it is at most `max` bytes. Returns whether
    /// the body is now complete (false: too large, malformed, or the client stalled).
    pub(crate) async fn discard_body(&self, max: u64) -> bool {
        let seq = self.body_seq();
        let mut discarded = 0u64;
        loop {
            if self
                .body_remaining(seq)
                .is_some_and(|n| n > max - discarded)
            {
                return false;
            }
            match self.read_body(seq).await {
                Ok(None) => return true,
                Ok(Some(b)) => {
                    discarded += b.len() as u64;
                    if discarded > max {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }
}

fn error_for(e: HeadError) -> io::Error {
    let kind = match e.status {
        StatusCode::REQUEST_TIMEOUT => io::ErrorKind::TimedOut,
        _ if e.reason == "request body cut short" => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e.reason)
}

impl BodySource for ConnIo {
    fn remaining(&self, seq: u32) -> Option<u64> {
        self.body_remaining(seq)
    }

    fn read_buffered(&self, seq: u32) -> Option<io::Result<Option<Bytes>>> {
        ConnIo::read_buffered(self, seq)
    }

    fn read(&self, seq: u32) -> ReadLater<'_> {
        Box::pin(self.read_body(seq))
    }

    fn refuse_too_large(&self, seq: u32) {
        self.fail_body(seq, StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    }

    fn current_seq(&self) -> u32 {
        self.body_seq()
    }
}
