//! [`Error`]: why an upstream request failed, sorted the way a proxy answers it (502 for
//! a connection or response that failed, 504 for a timeout).

use std::fmt;
use std::io;

/// Why [`Client::request`](super::Client::request) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request's URI has no `http` or `https` scheme and host, or an HTTPS request
    /// was made by a client without a TLS connector.
    InvalidRequest(&'static str),
    /// The upstream's name did not resolve, or the TCP connect failed.
    Connect(io::Error),
    /// The TLS handshake failed (untrusted or mismatched certificate, protocol error).
    Tls(io::Error),
    /// A connect, send or receive took longer than its timeout.
    Timeout(&'static str),
    /// Sending the request or receiving the response head failed.
    Io(io::Error),
    /// The response head is malformed or ambiguously framed (refused, never guessed).
    InvalidResponse(&'static str),
}

impl Error {
    /// Whether this is a timeout (a proxy answers 504; anything else is a 502).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// Whether the upstream could not be reached at all.
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Connect(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidRequest(why) => write!(f, "invalid upstream request: {why}"),
            Error::Connect(e) => write!(f, "upstream connect failed: {e}"),
            Error::Tls(e) => write!(f, "upstream TLS handshake failed: {e}"),
            Error::Timeout(what) => write!(f, "upstream timed out: {what}"),
            Error::Io(e) => write!(f, "upstream I/O failed: {e}"),
            Error::InvalidResponse(why) => write!(f, "invalid upstream response: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect(e) | Error::Tls(e) | Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::InvalidRequest(_) => io::ErrorKind::InvalidInput,
            Error::Timeout(_) => io::ErrorKind::TimedOut,
            Error::InvalidResponse(_) => io::ErrorKind::InvalidData,
            Error::Connect(e) | Error::Tls(e) | Error::Io(e) => e.kind(),
        };
        io::Error::new(kind, e)
    }
}
