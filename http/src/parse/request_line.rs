//! Our own strict request-line scanner. httparse parses the common case; this runs when it
//! fails or the head is incomplete, to pick the right status (400, 414, 505), to notice an
//! over-long target before its end arrives, and to accept `HTTP/1.x` with x > 1.

use http::{StatusCode, Version};

use super::charset::is_token_byte;
use super::HeadError;

/// The three parts of a request line.
pub(super) struct RequestLine<'b> {
    pub(super) method: &'b str,
    pub(super) target: &'b str,
    pub(super) version: Version,
}

/// What [`scan`] found.
pub(super) enum LineScan<'b> {
    /// No error so far, but the line has not ended yet.
    Incomplete,
    /// A valid line, `len` bytes including its CRLF.
    Complete { line: RequestLine<'b>, len: usize },
}

/// Scans `method SP target SP HTTP/d.d CRLF` at the start of `buf`.
pub(super) fn scan(buf: &[u8], max_target: usize) -> Result<LineScan<'_>, HeadError> {
    let Some(method_len) = scan_method(buf)? else {
        return Ok(LineScan::Incomplete);
    };
    let target_start = method_len + 1;
    let Some(target_len) = scan_target(&buf[target_start..], max_target)? else {
        return Ok(LineScan::Incomplete);
    };
    let version_start = target_start + target_len + 1;
    let Some(version) = scan_version(&buf[version_start..])? else {
        return Ok(LineScan::Incomplete);
    };
    // Both parts were checked to be ASCII above, so these conversions cannot fail.
    let ascii = |bytes| std::str::from_utf8(bytes).map_err(|_| invalid_target());
    let line = RequestLine {
        method: ascii(&buf[..method_len])?,
        target: ascii(&buf[target_start..target_start + target_len])?,
        version,
    };
    Ok(LineScan::Complete {
        line,
        len: version_start + VERSION_LINE_LEN,
    })
}

/// The 414 error.
pub(super) fn target_too_long() -> HeadError {
    HeadError::new(StatusCode::URI_TOO_LONG, "request target too long")
}

fn invalid_target() -> HeadError {
    HeadError::bad_request("invalid byte in request target")
}

/// `HTTP/d.d` plus CRLF.
const VERSION_LINE_LEN: usize = 10;

/// Returns the method's length once the space after it has arrived.
fn scan_method(buf: &[u8]) -> Result<Option<usize>, HeadError> {
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b' ' if i > 0 => return Ok(Some(i)),
            _ if is_token_byte(b) => {}
            _ => return Err(HeadError::bad_request("invalid method token")),
        }
    }
    Ok(None)
}

/// Returns the target's length once the space after it has arrived; 414 as soon as it is too
/// long, even if it has not ended yet.
fn scan_target(buf: &[u8], max_target: usize) -> Result<Option<usize>, HeadError> {
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b' ' if i > 0 => return Ok(Some(i)),
            _ if i >= max_target => return Err(target_too_long()),
            b'\r' | b'\n' => {
                return Err(HeadError::bad_request("request line without HTTP version"))
            }
            0x21..=0x7e => {}
            _ => return Err(invalid_target()),
        }
    }
    Ok(None)
}

/// Scans `HTTP/d.d CRLF`, failing as soon as a byte is wrong.
fn scan_version(buf: &[u8]) -> Result<Option<Version>, HeadError> {
    const PREFIX: &[u8] = b"HTTP/";
    let seen = buf.len().min(PREFIX.len());
    if buf[..seen] != PREFIX[..seen] {
        return Err(not_http());
    }
    let digit = |at: usize| match buf.get(at) {
        Some(b) if b.is_ascii_digit() => Ok(Some(b - b'0')),
        Some(_) => Err(not_http()),
        None => Ok(None),
    };
    let Some(major) = digit(5)? else {
        return Ok(None);
    };
    match buf.get(6) {
        Some(b'.') => {}
        Some(_) => return Err(not_http()),
        None => return Ok(None),
    }
    let Some(minor) = digit(7)? else {
        return Ok(None);
    };
    if major != 1 {
        return Err(HeadError::new(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            "only HTTP/1.x is supported",
        ));
    }
    match (buf.get(8), buf.get(9)) {
        (Some(b'\r'), Some(b'\n')) => {}
        (None, _) | (Some(b'\r'), None) => return Ok(None),
        _ => return Err(HeadError::bad_request("request line not ended by CRLF")),
    }
    Ok(Some(if minor == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    }))
}

fn not_http() -> HeadError {
    HeadError::bad_request("not an HTTP/d.d version")
}
