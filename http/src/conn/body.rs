//! Reading a request body from the connection: Content-Length or chunked framing, the
//! body limit, `100 Continue`, and the body-read timeout.

use std::io;

use bytes::{Buf, Bytes};
use http::StatusCode;

use super::io::{ConnIo, Recv};
use crate::parse::{ChunkedDecoder, Expect, Framing, HeadError};

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The body of the request being served, while it has one. `ConnIo` holds it boxed and
/// only while there is a body (`None` = no body, or fully read with no error), so a
/// connection without a body in progress, idle ones in particular, pays one word for it.
pub(crate) struct BodyState {
    /// The client waits for `100 Continue`, which has not been sent.
    continue_pending: bool,
    /// Why reading failed (status 0: it did not): the server answers with this instead
    /// of the handler's response.
    error_status: u16,
    error_reason: &'static str,
    framing: BodyFraming,
}

impl BodyState {
    fn error(&self) -> Option<HeadError> {
        let status = StatusCode::from_u16(self.error_status).ok()?;
        Some(HeadError {
            status,
            reason: self.error_reason,
        })
    }

    fn set_error(&mut self, e: HeadError) {
        self.error_status = e.status.as_u16();
        self.error_reason = e.reason;
    }
}

enum BodyFraming {
    Done,
    /// Bytes left (the limit was checked against the Content-Length up front).
    Length(u64),
    Chunked(Box<Chunked>),
}

struct Chunked {
    decoder: ChunkedDecoder,
    /// Decoded bytes so far (for the body limit).
    read: u64,
}

/// One step of taking body data from what is already buffered.
enum Step {
    Data(Bytes),
    Done,
    NeedMore,
    Failed,
}

impl ConnIo {
    /// Sets up the body of a new request; returns the request's sequence number.
    pub(crate) fn begin_body(&self, framing: Framing, expect: Expect) -> u32 {
        let seq = self.body_seq.get().wrapping_add(1);
        self.body_seq.set(seq);
        let framing = match framing {
            Framing::None | Framing::Length(0) => None,
            Framing::Length(n) => Some(BodyFraming::Length(n)),
            Framing::Chunked => Some(BodyFraming::Chunked(Box::new(Chunked {
                decoder: ChunkedDecoder::new(self.core.config.limits.chunks()),
                read: 0,
            }))),
        };
        *self.body.borrow_mut() = framing.map(|framing| {
            Box::new(BodyState {
                // A client that already sent body bytes is not waiting for 100 Continue.
                continue_pending: expect == Expect::Continue && self.inbuf_is_empty(),
                error_status: 0,
                error_reason: "",
                framing,
            })
        });
        seq
    }

    /// Ends the current request's body: later reads through its `Body` fail.
    pub(crate) fn end_body(&self) {
        self.body_seq.set(self.body_seq.get().wrapping_add(1));
        let old = self.body.borrow_mut().take();
        drop(old);
    }

    pub(crate) fn body_seq(&self) -> u32 {
        self.body_seq.get()
    }

    /// Whether the whole body has been read.
    pub(crate) fn body_done(&self) -> bool {
        self.body
            .borrow()
            .as_ref()
            .map_or(true, |st| matches!(st.framing, BodyFraming::Done))
    }

    /// Why reading the body failed, if it did.
    pub(crate) fn body_error(&self) -> Option<HeadError> {
        self.body.borrow().as_ref().and_then(|st| st.error())
    }

    /// Whether the client still waits for a `100 Continue` that was never sent.
    pub(crate) fn continue_pending(&self) -> bool {
        self.body
            .borrow()
            .as_ref()
            .is_some_and(|st| st.continue_pending)
    }

    /// Queues `100 Continue` ahead of the response if the client waits for it (used when
    /// a request body is streamed back as the response body).
    pub(crate) fn queue_continue_if_pending(&self) {
        let pending = self
            .body
            .borrow_mut()
            .as_mut()
            .is_some_and(|st| std::mem::take(&mut st.continue_pending));
        if pending {
            self.with_out(|out| out.extend_from_slice(CONTINUE));
        }
    }

    /// Bytes of a Content-Length body not yet read.
    pub(crate) fn body_remaining(&self, seq: u32) -> Option<u64> {
        if self.body_seq.get() != seq {
            return Some(0);
        }
        match self.body.borrow().as_ref().map(|st| &st.framing) {
            None | Some(BodyFraming::Done) => Some(0),
            Some(BodyFraming::Length(n)) => Some(*n),
            Some(BodyFraming::Chunked(_)) => None,
        }
    }

    /// Whether the rest of the body is already buffered (for a chunked body: unknown, so
    /// no).
    pub(crate) fn body_fully_buffered(&self) -> bool {
        match self.body.borrow().as_ref().map(|st| &st.framing) {
            None | Some(BodyFraming::Done) => true,
            Some(BodyFraming::Length(n)) => *n <= self.inbuf.borrow().len() as u64,
            Some(BodyFraming::Chunked(_)) => false,
        }
    }

    /// Records a body failure (the server will answer `status` and close).
    pub(crate) fn fail_body(&self, seq: u32, status: StatusCode, reason: &'static str) {
        if self.body_seq.get() != seq {
            return;
        }
        let mut body = self.body.borrow_mut();
        let st = body.get_or_insert_with(|| {
            Box::new(BodyState {
                continue_pending: false,
                error_status: 0,
                error_reason: "",
                framing: BodyFraming::Done,
            })
        });
        if st.error_status == 0 {
            st.set_error(HeadError { status, reason });
        }
    }

    /// The next piece of the body of request `seq`, reading from the socket as needed.
    pub(crate) async fn read_body(&self, seq: u32) -> io::Result<Option<Bytes>> {
        loop {
            if self.body_seq.get() != seq {
                return Err(io::Error::other("the request this body belongs to is over"));
            }
            if let Some(e) = self.body_error() {
                return Err(error_for(e));
            }
            match self.take_buffered() {
                Step::Data(b) => return Ok(Some(b)),
                Step::Done => return Ok(None),
                Step::Failed => continue, // reported at the top
                Step::NeedMore => {}
            }
            self.queue_continue_if_pending();
            // Before waiting for the client, send what it may be waiting for: a 100
            // Continue, earlier pipelined responses, or (for a body streamed back) the
            // response head.
            let pending = !self.out.borrow().is_empty();
            if pending {
                self.flush().await?;
            }
            self.set_deadline(self.core.config.timeouts.body_read);
            let failure = match self.recv(false).await {
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

    /// Decodes body data from what is buffered, without reading the socket.
    fn take_buffered(&self) -> Step {
        let mut body = self.body.borrow_mut();
        let Some(st) = body.as_mut() else {
            return Step::Done;
        };
        let mut inbuf = self.inbuf.borrow_mut();
        let data = match &mut st.framing {
            BodyFraming::Done => return Step::Done,
            BodyFraming::Length(remaining) => {
                if inbuf.is_empty() {
                    return Step::NeedMore;
                }
                let n = (*remaining).min(inbuf.len() as u64) as usize;
                *remaining -= n as u64;
                if *remaining == 0 {
                    st.framing = BodyFraming::Done;
                }
                inbuf.split_to(n).freeze()
            }
            BodyFraming::Chunked(chunked) => loop {
                let d = match chunked.decoder.decode(&inbuf) {
                    Ok(d) => d,
                    Err(e) => {
                        st.set_error(e);
                        return Step::Failed;
                    }
                };
                if !d.data.is_empty() {
                    chunked.read += d.data.len() as u64;
                    if chunked.read > self.core.config.limits.max_body {
                        st.set_error(HeadError {
                            status: StatusCode::PAYLOAD_TOO_LARGE,
                            reason: "request body too large",
                        });
                        return Step::Failed;
                    }
                    break inbuf.split_to(d.consumed).freeze().slice(d.data);
                }
                inbuf.advance(d.consumed);
                if chunked.decoder.is_done() {
                    st.framing = BodyFraming::Done;
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
