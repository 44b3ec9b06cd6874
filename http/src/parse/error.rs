//! The one error type of the parsing layer: the status to answer with and why.

use std::fmt;

use http::StatusCode;

/// A request the server must refuse: the status to send (400, 414, 417, 431, 501 or 505; the
/// chunked decoder only produces 400) and a short reason for logs. The connection must be
/// closed after answering, since the framing of what follows can no longer be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadError {
    /// The status code of the error response.
    pub status: StatusCode,
    /// A short, static description of what was wrong, for logs and error bodies.
    pub reason: &'static str,
    /// The request's body failed (its framing, size or timing), not its head: metrics
    /// count a body timeout apart from a head timeout by this, not by the reason's text.
    pub in_body: bool,
}

impl HeadError {
    pub(crate) const fn new(status: StatusCode, reason: &'static str) -> Self {
        Self {
            status,
            reason,
            in_body: false,
        }
    }

    /// The same error, marked as the body's.
    pub(crate) const fn of_body(self) -> Self {
        Self {
            in_body: true,
            ..self
        }
    }

    pub(crate) const fn bad_request(reason: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.reason)
    }
}

impl std::error::Error for HeadError {}
