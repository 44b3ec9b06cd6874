//! Request path → relative file path: percent-decoding and refusal of anything that could
//! name a file outside the root (checked again by the kernel with `RESOLVE_BENEATH`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use http::StatusCode;

/// The one dot-named directory served: RFC 8615's well-known URIs (ACME challenges,
/// `security.txt`), and only as the first segment.
const WELL_KNOWN: &[u8] = b".well-known";

/// Percent-decodes the URI path into a relative path. Refused with 400: a segment that is
/// `.` or `..` (also encoded), one that decodes to `/`, `\` or NUL, and bad escapes.
/// Refused with 404: any other segment beginning with `.` (`.git/`, `.env`, `.htpasswd`:
/// files a deploy leaves behind that are not meant to be published), except a first
/// segment `.well-known`. Only one level of decoding is done, so `%252e` is the literal
/// name `%2e`.
pub fn decode_path(path: &str) -> Result<PathBuf, StatusCode> {
    let mut out = PathBuf::new();
    let mut hidden = false;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let bytes = percent_decode(segment.as_bytes()).ok_or(StatusCode::BAD_REQUEST)?;
        let bad_byte = |b: &u8| matches!(b, b'/' | b'\\' | 0);
        if bytes == b"." || bytes == b".." || bytes.iter().any(bad_byte) {
            return Err(StatusCode::BAD_REQUEST);
        }
        let well_known = out.as_os_str().is_empty() && bytes == WELL_KNOWN;
        hidden |= bytes.starts_with(b".") && !well_known;
        out.push(OsStr::from_bytes(&bytes));
    }
    // Checked after the loop so that a later `..` still gets its 400.
    if hidden {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(out)
}

fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex(*s.get(i + 1)?)?;
            let lo = hex(*s.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "/../etc/passwd",
            "/a/%2e%2e/b",
            "/%2E%2e",
            "/./x",
            "/a%2Fb",
            "/..%2fetc",
            "/a%5c..",
            "/a\\b",
            "/a%00",
            "/%zz",
            "/%2",
        ] {
            assert_eq!(decode_path(bad), Err(StatusCode::BAD_REQUEST), "{bad}");
        }
        assert_eq!(decode_path("/a/b%20c.txt"), Ok(PathBuf::from("a/b c.txt")));
        assert_eq!(decode_path("//x//"), Ok(PathBuf::from("x")));
        assert_eq!(decode_path("/%252e%252e"), Ok(PathBuf::from("%2e%2e")));
    }

    #[test]
    fn dot_segments_are_not_found_except_well_known() {
        for hidden in [
            "/.git/config",
            "/.git/",
            "/.env",
            "/dir/.htpasswd",
            "/%2egit/HEAD",
            "/%2Eenv",
            "/...",
            "/a/.well-known/x",
            "/.well-known/.secret",
            "/.well-knownx/y",
        ] {
            assert_eq!(decode_path(hidden), Err(StatusCode::NOT_FOUND), "{hidden}");
        }
        assert_eq!(
            decode_path("/.well-known/acme-challenge/tok"),
            Ok(PathBuf::from(".well-known/acme-challenge/tok"))
        );
        assert_eq!(
            decode_path("/%2ewell-known/security.txt"),
            Ok(PathBuf::from(".well-known/security.txt"))
        );
        assert_eq!(decode_path("/a.b/c."), Ok(PathBuf::from("a.b/c.")));
        assert_eq!(decode_path("/.env/../x"), Err(StatusCode::BAD_REQUEST));
    }
}
