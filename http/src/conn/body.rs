//! The state of the request body being served: what is left of it to read, a failure to
//! answer with, and whether the client waits for `100 Continue`. Reading it is in
//! `body_read.rs`.

use http::StatusCode;

use super::io::ConnIo;
use super::rate::RateClock;
use crate::parse::{ChunkedDecoder, Expect, HeadError, RequestFraming};

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The body of the request being served, while it has one. `ConnIo` holds it boxed and
/// only while there is a body (`None` = no body, or fully read with no error), so a
/// connection without a body in progress, idle ones in particular, pays one word for it.
pub(crate) struct BodyState {
    /// The client waits for `100 Continue`, which has not been sent.
    pub(super) continue_pending: bool,
    /// Why reading failed (status 0: it did not): the server answers with this instead
    /// of the handler's response.
    error_status: u16,
    error_reason: &'static str,
    pub(super) unread: Unread,
    /// Bytes received and time waited for them, for the minimum body rate.
    pub(super) rate: RateClock,
}

impl BodyState {
    pub(super) fn error(&self) -> Option<HeadError> {
        let status = StatusCode::from_u16(self.error_status).ok()?;
        // Every error stored here is the body's (see `HeadError::in_body`).
        Some(HeadError::new(status, self.error_reason).of_body())
    }

    pub(super) fn set_error(&mut self, e: HeadError) {
        self.error_status = e.status.as_u16();
        self.error_reason = e.reason;
    }
}

/// What is left of a request body to read.
pub(super) enum Unread {
    /// Nothing: the body was read to its end.
    Done,
    /// Bytes left (the limit was checked against the Content-Length up front).
    Length(u64),
    Chunked(Box<Chunked>),
}

/// A chunked body being decoded.
pub(super) struct Chunked {
    pub(super) decoder: ChunkedDecoder,
    /// Decoded bytes so far (for the body limit).
    pub(super) read: u64,
}

impl ConnIo {
    /// Sets up the body of a new request; returns the request's sequence number.
    ///
    /// Inlined into the request path, where most requests have no body: their case is a
    /// store; a body's state is set up out of line.
    #[inline]
    pub(crate) fn begin_body(&self, framing: RequestFraming, expect: Expect) -> u32 {
        let seq = self.body_seq.get().wrapping_add(1);
        self.body_seq.set(seq);
        match framing {
            RequestFraming::None | RequestFraming::Length(0) => *self.body.borrow_mut() = None,
            _ => self.begin_body_state(framing, expect),
        }
        seq
    }

    /// The state of a body to read (`framing` says there is one).
    #[inline(never)]
    fn begin_body_state(&self, framing: RequestFraming, expect: Expect) {
        let unread = match framing {
            RequestFraming::None | RequestFraming::Length(0) => return,
            RequestFraming::Length(n) => Unread::Length(n),
            RequestFraming::Chunked => Unread::Chunked(Box::new(Chunked {
                decoder: ChunkedDecoder::new(self.registry.config.limits.chunks()),
                read: 0,
            })),
        };
        *self.body.borrow_mut() = Some(Box::new(BodyState {
            // A client that already sent body bytes is not waiting for 100 Continue.
            continue_pending: expect == Expect::Continue && self.inbuf_is_empty(),
            error_status: 0,
            error_reason: "",
            unread,
            rate: RateClock::default(),
        }));
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
            .is_none_or(|st| matches!(st.unread, Unread::Done))
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
        match self.body.borrow().as_ref().map(|st| &st.unread) {
            None | Some(Unread::Done) => Some(0),
            Some(Unread::Length(n)) => Some(*n),
            Some(Unread::Chunked(_)) => None,
        }
    }

    /// Whether the rest of the body is already buffered (for a chunked body: unknown, so
    /// no).
    pub(crate) fn body_fully_buffered(&self) -> bool {
        match self.body.borrow().as_ref().map(|st| &st.unread) {
            None | Some(Unread::Done) => true,
            Some(Unread::Length(n)) => *n <= self.inbuf.borrow().len() as u64,
            Some(Unread::Chunked(_)) => false,
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
                unread: Unread::Done,
                rate: RateClock::default(),
            })
        });
        if st.error_status == 0 {
            st.set_error(HeadError::new(status, reason));
        }
    }
}
