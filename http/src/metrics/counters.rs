//! Per-core counters of responses (by status class and by where the response came from)
//! and of refusals (by reason): fixed arrays indexed by enums, so counting is an add to a
//! plain cell, with no hashing or allocation on the request path.

use http::StatusCode;

use crate::parse::HeadError;

/// Where a response came from, as far as the library can tell: handlers are opaque, so
/// routes of an application (e.g. the `coreline` binary's `/plaintext`) are not told
/// apart; a response is a file if its body is a file (static files, or a handler's file
/// body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// A handler's response with a body that is not a file (including the 500 sent when a
    /// handler panics).
    Handler,
    /// A response whose body is a file.
    File,
    /// An error response written by the library itself: a refused request (400, 408, 413,
    /// 431, ...) or the 503 at the connection limit.
    Error,
}

impl ResponseKind {
    /// Every kind, in the order of [`ResponseCounts`]' columns.
    pub const ALL: [ResponseKind; 3] = [Self::Handler, Self::File, Self::Error];

    /// The `route` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Handler => "handler",
            Self::File => "file",
            Self::Error => "error",
        }
    }
}

/// The status classes counted (a final response is never 1xx).
pub const STATUS_CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// Responses of one core by status class × [`ResponseKind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseCounts {
    counts: [[u64; ResponseKind::ALL.len()]; STATUS_CLASSES.len()],
}

impl ResponseCounts {
    /// Responses of the class `STATUS_CLASSES[class]` (0 = 2xx .. 3 = 5xx) and `kind`.
    pub fn get(&self, class: usize, kind: ResponseKind) -> u64 {
        self.counts[class][kind as usize]
    }

    /// Counts one response (statuses of 600 and above count as 5xx).
    #[inline]
    pub(crate) fn count(&mut self, status: StatusCode, kind: ResponseKind) {
        let class = usize::from(status.as_u16() / 100).clamp(2, 5) - 2;
        self.counts[class][kind as usize] += 1;
    }
}

/// Why the server refused a connection or a request instead of serving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over `max_connections_per_core`: a 503 (plain) or a close (TLS).
    ConnectionLimit,
    /// 408: the request head did not arrive within the header timeout.
    HeadTimeout,
    /// 408: the request body did not arrive in time (body timeout or minimum data rate).
    BodyTimeout,
    /// 431: the request head is too large (or has too many fields).
    HeadTooLarge,
    /// 413: the declared or received body is over `max_body`.
    BodyTooLarge,
    /// 400: malformed request (or a body cut short).
    BadRequest,
    /// Any other refusal of a request (414, 417, 501, 505).
    OtherRequestError,
    /// A TLS handshake that did not finish within the acceptor's handshake timeout.
    TlsHandshakeTimeout,
    /// A TLS handshake that failed (protocol error, or the client closed).
    TlsHandshakeError,
    /// A pending TLS handshake closed to make room under `max_handshakes_per_core`.
    TlsHandshakeEvicted,
}

impl Refusal {
    /// Every reason, in the order of [`RefusalCounts`].
    pub const ALL: [Refusal; 10] = [
        Self::ConnectionLimit,
        Self::HeadTimeout,
        Self::BodyTimeout,
        Self::HeadTooLarge,
        Self::BodyTooLarge,
        Self::BadRequest,
        Self::OtherRequestError,
        Self::TlsHandshakeTimeout,
        Self::TlsHandshakeError,
        Self::TlsHandshakeEvicted,
    ];

    /// The `reason` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::ConnectionLimit => "connection_limit",
            Self::HeadTimeout => "head_timeout",
            Self::BodyTimeout => "body_timeout",
            Self::HeadTooLarge => "head_too_large",
            Self::BodyTooLarge => "body_too_large",
            Self::BadRequest => "bad_request",
            Self::OtherRequestError => "other_request_error",
            Self::TlsHandshakeTimeout => "tls_handshake_timeout",
            Self::TlsHandshakeError => "tls_handshake_error",
            Self::TlsHandshakeEvicted => "tls_handshake_evicted",
        }
    }

    /// The reason of a request refused with `e`.
    pub(crate) fn of(e: &HeadError) -> Refusal {
        match e.status {
            // The body's timeouts and minimum rate (body_read.rs).
            StatusCode::REQUEST_TIMEOUT if e.in_body => Self::BodyTimeout,
            StatusCode::REQUEST_TIMEOUT => Self::HeadTimeout,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Self::HeadTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE => Self::BodyTooLarge,
            StatusCode::BAD_REQUEST => Self::BadRequest,
            _ => Self::OtherRequestError,
        }
    }
}

/// Refusals of one core by [`Refusal`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefusalCounts {
    counts: [u64; Refusal::ALL.len()],
}

impl RefusalCounts {
    /// Refusals for `reason`.
    pub fn get(&self, reason: Refusal) -> u64 {
        self.counts[reason as usize]
    }

    /// Counts one refusal.
    #[inline]
    pub(crate) fn count(&mut self, reason: Refusal) {
        self.counts[reason as usize] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_reasons() {
        let mut r = ResponseCounts::default();
        r.count(StatusCode::OK, ResponseKind::Handler);
        r.count(StatusCode::NOT_FOUND, ResponseKind::File);
        r.count(StatusCode::from_u16(999).unwrap(), ResponseKind::Error);
        assert_eq!(r.get(0, ResponseKind::Handler), 1);
        assert_eq!(r.get(2, ResponseKind::File), 1);
        assert_eq!(r.get(3, ResponseKind::Error), 1);
        let e = HeadError::new;
        let body = e(StatusCode::REQUEST_TIMEOUT, "any reason").of_body();
        assert_eq!(Refusal::of(&body), Refusal::BodyTimeout);
        let head = e(
            StatusCode::REQUEST_TIMEOUT,
            "request head not received in time",
        );
        assert_eq!(Refusal::of(&head), Refusal::HeadTimeout);
        let uri = e(StatusCode::URI_TOO_LONG, "x");
        assert_eq!(Refusal::of(&uri), Refusal::OtherRequestError);
        for (i, r) in Refusal::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
