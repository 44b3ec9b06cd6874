//! Validators (ETag, Last-Modified), conditional requests and the Range header
//! (RFC 9110 §8.8, §13, §14).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, RANGE};
use http::{HeaderMap, HeaderValue};

/// What identifies one version of a file, with its header values ready to send (the
/// open-file cache keeps them, so a hit formats nothing).
#[derive(Clone, Debug)]
pub struct Validators {
    /// Strong ETag: size and mtime to the nanosecond, quoted.
    pub(crate) etag: HeaderValue,
    /// Last-Modified (an IMF-fixdate).
    pub(crate) last_modified: HeaderValue,
    /// mtime, whole seconds since the epoch (Last-Modified's resolution).
    pub(crate) mtime: u64,
    /// The size and mtime these were made from.
    version: (u64, i64, u32),
}

impl Validators {
    /// The validators of a file of `size` bytes last modified at `mtime_sec.mtime_nsec`.
    pub fn new(size: u64, mtime_sec: i64, mtime_nsec: u32) -> Self {
        let mtime = mtime_sec.max(0) as u64;
        let etag = format!("\"{size:x}-{mtime_sec:x}.{mtime_nsec:x}\"");
        let date = crate::date::format_imf_fixdate(mtime);
        Validators {
            etag: HeaderValue::try_from(etag).unwrap_or(HeaderValue::from_static("\"\"")),
            last_modified: HeaderValue::from_bytes(&date)
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            mtime,
            version: (size, mtime_sec, mtime_nsec),
        }
    }

    /// Whether these still describe a file of this size and mtime.
    pub(crate) fn describe(&self, size: u64, mtime_sec: i64, mtime_nsec: u32) -> bool {
        self.version == (size, mtime_sec, mtime_nsec)
    }

    /// The ETag value sent with the file.
    pub fn etag(&self) -> &HeaderValue {
        &self.etag
    }

    /// The Last-Modified value sent with the file.
    pub fn last_modified(&self) -> &HeaderValue {
        &self.last_modified
    }

    fn etag_str(&self) -> &str {
        self.etag.to_str().unwrap_or("")
    }

    /// Whether a GET/HEAD with these headers gets 304 Not Modified (§13.1.2, §13.1.3):
    /// If-None-Match decides when present (weak comparison); else If-Modified-Since.
    pub fn not_modified(&self, h: &HeaderMap) -> bool {
        if let Some(inm) = h.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
            let ours = opaque(self.etag_str());
            return inm
                .split(',')
                .map(str::trim)
                .any(|t| t == "*" || opaque(t) == ours);
        }
        match h.get(IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) {
            Some(date) => parse_date(date).is_some_and(|since| self.mtime <= since),
            None => false,
        }
    }

    /// Whether If-Range (if any) lets the Range header apply: a strong ETag match, or a
    /// date exactly equal to Last-Modified.
    fn range_applies(&self, h: &HeaderMap) -> bool {
        match h.get(IF_RANGE).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(v) if v.starts_with('"') => v == self.etag_str(),
            Some(v) => parse_date(v) == Some(self.mtime),
        }
    }
}

/// The ETag without a weak `W/` prefix.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// An HTTP-date (all three RFC 9110 formats) as seconds since the epoch.
fn parse_date(s: &str) -> Option<u64> {
    let t: SystemTime = httpdate::parse_http_date(s).ok()?;
    t.duration_since(UNIX_EPOCH)
        .ok()
        .as_ref()
        .map(Duration::as_secs)
}

/// What the Range header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranged {
    /// No (usable) range: send the whole file with 200.
    Whole,
    /// One satisfiable range: 206 with these `start` and `len`.
    Part {
        /// First byte.
        start: u64,
        /// Bytes from `start` (at least one).
        len: u64,
    },
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Evaluates Range (and If-Range). Only a single `bytes=` range is honoured; several
/// ranges get the whole file with 200 (allowed by §14.2, and cheaper than
/// multipart/byteranges for everyone); a malformed header is ignored likewise.
pub fn range(h: &HeaderMap, size: u64, v: &Validators) -> Ranged {
    let Some(spec) = h.get(RANGE).and_then(|r| r.to_str().ok()) else {
        return Ranged::Whole;
    };
    if !v.range_applies(h) {
        return Ranged::Whole;
    }
    let Some(set) = spec.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    if set.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), num(first), num(last)) {
        // Suffix: the last N bytes.
        (true, _, Some(n)) if n == 0 || size == 0 => Ranged::Unsatisfiable,
        (true, _, Some(n)) => {
            let len = n.min(size);
            Ranged::Part {
                start: size - len,
                len,
            }
        }
        (false, Some(a), _) if a >= size => Ranged::Unsatisfiable,
        (false, Some(a), None) if last.trim().is_empty() => Ranged::Part {
            start: a,
            len: size - a,
        },
        (false, Some(a), Some(b)) if b >= a => Ranged::Part {
            start: a,
            len: b.min(size - 1) - a + 1,
        },
        _ => Ranged::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranged(spec: &str, size: u64) -> Ranged {
        let mut h = HeaderMap::new();
        h.insert(RANGE, spec.parse().unwrap());
        range(&h, size, &Validators::new(size, 1, 2))
    }

    #[test]
    fn ranges() {
        let part = |start, len| Ranged::Part { start, len };
        assert_eq!(ranged("bytes=0-99", 1000), part(0, 100));
        assert_eq!(ranged("bytes=100-", 1000), part(100, 900));
        assert_eq!(ranged("bytes=-500", 1000), part(500, 500));
        assert_eq!(ranged("bytes=-5000", 1000), part(0, 1000));
        assert_eq!(ranged("bytes=990-2000", 1000), part(990, 10));
        assert_eq!(ranged("bytes=1000-", 1000), Ranged::Unsatisfiable);
        assert_eq!(ranged("bytes=-0", 1000), Ranged::Unsatisfiable);
        assert_eq!(ranged("bytes=0-", 0), Ranged::Unsatisfiable);
        assert_eq!(ranged("bytes=0-1,5-6", 1000), Ranged::Whole);
        assert_eq!(ranged("bytes=5-1", 1000), Ranged::Whole);
        assert_eq!(ranged("items=0-1", 1000), Ranged::Whole);
        assert_eq!(ranged("bytes=x-1", 1000), Ranged::Whole);
    }

    #[test]
    fn conditionals() {
        let v = Validators::new(10, 1_000_000, 5);
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, v.etag.clone());
        assert_eq!(v.last_modified, "Mon, 12 Jan 1970 13:46:40 GMT");
        assert!(v.not_modified(&h));
        h.insert(IF_NONE_MATCH, "\"other\"".parse().unwrap());
        h.insert(
            IF_MODIFIED_SINCE,
            "Mon, 12 Jan 1970 13:46:40 GMT".parse().unwrap(),
        );
        assert!(!v.not_modified(&h), "If-None-Match decides when present");
        h.remove(IF_NONE_MATCH);
        assert!(v.not_modified(&h));
        h.insert(
            IF_MODIFIED_SINCE,
            "Mon, 12 Jan 1970 13:46:39 GMT".parse().unwrap(),
        );
        assert!(!v.not_modified(&h));
    }
}
