//! The request body as the handler sees it: a handle on the connection that reads and
//! decodes on demand.

use std::io;
use std::rc::Rc;

use bytes::Bytes;
use http::StatusCode;

use crate::conn::ConnIo;

/// Reads the body of request number `seq` of a connection. Once that request is over
/// (the handler returned and the server moved on), reads fail instead of stealing the
/// next request's bytes.
pub(crate) struct Incoming {
    io: Rc<ConnIo>,
    seq: u32,
}

impl Incoming {
    pub(crate) fn new(io: Rc<ConnIo>, seq: u32) -> Self {
        Incoming { io, seq }
    }

    /// Bytes left to read, if the framing says (Content-Length).
    pub(crate) fn len(&self) -> Option<u64> {
        self.io.body_remaining(self.seq)
    }

    pub(crate) async fn chunk(&mut self) -> io::Result<Option<Bytes>> {
        self.io.read_body(self.seq).await
    }

    /// The handler refused the body as too large: the server answers 413.
    pub(crate) fn refuse_too_large(&self) {
        self.io.fail_body(
            self.seq,
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        );
    }

    /// Whether this is the body of the request the connection is currently serving.
    pub(crate) fn is_current(&self, io: &ConnIo) -> bool {
        std::ptr::eq(Rc::as_ptr(&self.io), io) && self.io.body_seq() == self.seq
    }
}
