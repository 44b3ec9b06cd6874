//! Reading the response head off a connection: parsed with the server's framing rules
//! (`parse::parse_response_head`), interim 1xx responses skipped, fields copied into an
//! `http::response::Parts`.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::response::Parts;
use http::StatusCode;

use super::conn::Conn;
use super::Error;
use crate::parse::{parse_response_head, ResponseFraming, MAX_HEADERS};

/// A response head and what it says about the body and the connection.
pub(super) struct Head {
    pub(super) parts: Parts,
    pub(super) framing: ResponseFraming,
    pub(super) keep_alive: bool,
}

/// Why no head was read.
pub(super) enum HeadFailure {
    /// The connection ended (EOF or reset) before a single response byte: on a reused
    /// connection, the upstream may have closed it while it was idle.
    ClosedBeforeAnyByte(Error),
    Other(Error),
}

/// Reads the final response head (after any 1xx interim ones), leaving the bytes after it
/// in `conn.buf`.
pub(super) async fn read_head(
    conn: &mut Conn,
    head_request: bool,
    max_head: usize,
    timeout: Duration,
) -> Result<Head, HeadFailure> {
    let mut received_any = !conn.buf.is_empty();
    loop {
        if !conn.buf.is_empty() {
            if let Some(head) = parse(conn, head_request, max_head).map_err(HeadFailure::Other)? {
                return Ok(head);
            }
        }
        match conn.fill(timeout).await {
            Ok(0) if !received_any => {
                return Err(HeadFailure::ClosedBeforeAnyByte(Error::Io(eof())));
            }
            Ok(0) => return Err(HeadFailure::Other(Error::Io(eof()))),
            Ok(_) => received_any = true,
            Err(Error::Io(e)) if !received_any && is_reset(&e) => {
                return Err(HeadFailure::ClosedBeforeAnyByte(Error::Io(e)));
            }
            Err(e) => return Err(HeadFailure::Other(e)),
        }
    }
}

/// Parses the final head from `conn.buf`, consuming interim responses before it:
/// `Ok(None)` when more bytes are needed.
fn parse(conn: &mut Conn, head_request: bool, max_head: usize) -> Result<Option<Head>, Error> {
    loop {
        match parse_one(conn, head_request, max_head)? {
            Parsed::Final(head) => return Ok(Some(head)),
            Parsed::Incomplete => return Ok(None),
            Parsed::Interim if conn.buf.is_empty() => return Ok(None),
            Parsed::Interim => {}
        }
    }
}

/// What one parse of the buffer found.
enum Parsed {
    Final(Head),
    /// A 1xx response, consumed.
    Interim,
    /// More bytes are needed (the buffer is untouched).
    Incomplete,
}

fn parse_one(conn: &mut Conn, head_request: bool, max_head: usize) -> Result<Parsed, Error> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let head = match parse_response_head(&conn.buf, &mut slots, max_head, head_request) {
        Ok(Some(head)) => head,
        Ok(None) => return Ok(Parsed::Incomplete),
        Err(e) => return Err(Error::InvalidResponse(e.reason)),
    };
    let head_len = head.head_len;
    if head.status.is_informational() {
        if head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(Error::InvalidResponse(
                "101 Switching Protocols: upgrades are not supported",
            ));
        }
        let _ = conn.buf.split_to(head_len);
        return Ok(Parsed::Interim);
    }
    // From the core's pool: the server puts the parts back once it has encoded them.
    let (mut parts, _) = crate::pool::response(head.status, crate::Body::empty()).into_parts();
    parts.status = head.status;
    parts.version = head.version;
    parts.headers.reserve(head.headers.len());
    for field in head.headers {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| Error::InvalidResponse("invalid field name"))?;
        let value = HeaderValue::from_bytes(field.value)
            .map_err(|_| Error::InvalidResponse("invalid field value"))?;
        parts.headers.append(name, value);
    }
    let (framing, keep_alive) = (head.framing, head.keep_alive);
    let _ = conn.buf.split_to(head_len);
    Ok(Parsed::Final(Head {
        parts,
        framing,
        keep_alive,
    }))
}

fn eof() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "upstream closed the connection before the response head ended",
    )
}

/// Errors that mean the upstream had closed the connection.
pub(super) fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::UnexpectedEof
    )
}
