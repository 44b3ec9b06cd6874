//! Reading the response head off a connection: parsed with the server's framing rules
//! (`parse::parse_response_head`), interim 1xx responses skipped, fields put into an
//! `http::response::Parts` as slices of the head's bytes.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::response::Parts;
use http::StatusCode;

use super::conn::Conn;
use super::Error;
use crate::conn::header_names::header_name;
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

/// Reads the final response head (after any 1xx interim ones; a `101` is final if the
/// request asked for an `upgrade`), leaving the bytes after it in `conn.buf`.
pub(super) async fn read_head(
    conn: &mut Conn,
    head_request: bool,
    upgrade: bool,
    max_head: usize,
    timeout: Duration,
) -> Result<Head, HeadFailure> {
    let mut received_any = !conn.buf.is_empty();
    loop {
        if !conn.buf.is_empty() {
            let parsed = parse(conn, head_request, upgrade, max_head);
            if let Some(head) = parsed.map_err(HeadFailure::Other)? {
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

/// How long an answer that came before the request was sent may take to be received:
/// it is already on its way when the send fails, so a short wait.
const EARLY_ANSWER_WAIT: Duration = Duration::from_secs(1);

/// After a send failed (the upstream answered early and closed, or reset): the final
/// response head the upstream sent before, if a complete one arrives within
/// [`EARLY_ANSWER_WAIT`] (or `timeout`, if shorter).
pub(super) async fn early_head(
    conn: &mut Conn,
    head_request: bool,
    max_head: usize,
    timeout: Duration,
) -> Option<Head> {
    // An early answer is never a 101: the request that asked for one has no body to fail on.
    read_head(
        conn,
        head_request,
        false,
        max_head,
        timeout.min(EARLY_ANSWER_WAIT),
    )
    .await
    .ok()
}

/// Parses the final head from `conn.buf`, consuming interim responses before it:
/// `Ok(None)` when more bytes are needed.
fn parse(
    conn: &mut Conn,
    head_request: bool,
    upgrade: bool,
    max_head: usize,
) -> Result<Option<Head>, Error> {
    loop {
        match parse_one(conn, head_request, upgrade, max_head)? {
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

fn parse_one(
    conn: &mut Conn,
    head_request: bool,
    upgrade: bool,
    max_head: usize,
) -> Result<Parsed, Error> {
    let mut slots = [MaybeUninit::uninit(); MAX_HEADERS];
    let head = match parse_response_head(&conn.buf, &mut slots, max_head, head_request) {
        Ok(Some(head)) => head,
        Ok(None) => return Ok(Parsed::Incomplete),
        Err(e) => return Err(Error::InvalidResponse(e.reason)),
    };
    let head_len = head.head_len;
    let switching = head.status == StatusCode::SWITCHING_PROTOCOLS;
    if head.status.is_informational() && !(switching && upgrade) {
        if switching {
            return Err(Error::InvalidResponse(
                "101 Switching Protocols to a request that asked for no upgrade",
            ));
        }
        let _ = conn.buf.split_to(head_len);
        return Ok(Parsed::Interim);
    }
    let mut fields = FIELDS.take();
    fields.clear();
    let buf: &[u8] = &conn.buf;
    for field in head.headers.iter() {
        let Ok(name) = header_name(field.name.as_bytes()) else {
            fields.clear();
            FIELDS.set(fields);
            return Err(Error::InvalidResponse("invalid field name"));
        };
        fields.push((name, range_in(buf, field.value).unwrap_or(0..0)));
    }
    let (status, version, framing, keep_alive) =
        (head.status, head.version, head.framing, head.keep_alive);
    // The values are slices of the head's bytes, not copies: one allocation for the whole
    // head (its buffer), none per field.
    let bytes = conn.buf.split_to(head_len).freeze();
    // From the core's pool: the server puts the parts back once it has encoded them.
    let (mut parts, _) = crate::pool::response(status, crate::Body::empty()).into_parts();
    parts.status = status;
    parts.version = version;
    parts.headers.reserve(fields.len());
    let mut valid = true;
    for (name, range) in fields.drain(..) {
        match HeaderValue::from_maybe_shared(bytes.slice(range)) {
            Ok(value) => {
                parts.headers.append(name, value);
            }
            Err(_) => valid = false,
        }
    }
    FIELDS.set(fields);
    if !valid {
        return Err(Error::InvalidResponse("invalid field value"));
    }
    Ok(Parsed::Final(Head {
        parts,
        framing,
        keep_alive,
    }))
}

thread_local! {
    /// Names and value positions of the head being read (reused: no allocation).
    static FIELDS: Cell<Vec<(HeaderName, Range<usize>)>> =
        Cell::new(Vec::with_capacity(MAX_HEADERS));
}

/// Position of `part` inside `base` (a slice of it).
fn range_in(base: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= base.len()).then_some(start..end)
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
