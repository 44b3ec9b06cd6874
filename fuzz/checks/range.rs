//! Range, If-Range and the conditional headers of the static-file server
//! (`static_files::{range, Validators}`), on arbitrary bytes. Shared by the `range` fuzz
//! target and `http/tests/fuzz_regressions.rs`.
//!
//! Input: file size (8 bytes), mtime (4 bytes), a selector byte, then header text: the
//! Range value, and after the first newline a value for If-None-Match, If-Modified-Since
//! and (when the selector says) If-Range. What must hold:
//! - a part lies within the file and is never empty; its first or last byte is the one
//!   the header names; no Range header means the whole file; only a `bytes=` Range can
//!   be unsatisfiable;
//! - If-Range with the file's own ETag or Last-Modified changes nothing; any other
//!   If-Range gives either the same answer or the whole file;
//! - If-None-Match decides when present (`*` and the own ETag, weak or not, match), else
//!   If-Modified-Since is "not modified" exactly when it parses to a date at or after
//!   the mtime (an If-None-Match that is not visible ASCII is ignored);
//! - Last-Modified parses back to the mtime; ETags of different versions differ.

use std::time::UNIX_EPOCH;

use coreline_http::static_files::{range, Ranged, Validators};
use http::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, RANGE};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let mut fixed = [0u8; 13];
    let n = data.len().min(fixed.len());
    fixed[..n].copy_from_slice(&data[..n]);
    let text = &data[n..];
    let size = u64::from_le_bytes(fixed[..8].try_into().unwrap()) >> (fixed[12] % 64);
    let mtime = u32::from_le_bytes(fixed[8..12].try_into().unwrap());
    let selector = fixed[12];
    let v = Validators::new(size, i64::from(mtime), u32::from(selector));
    let (spec, other) = match text.iter().position(|&b| b == b'\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &[][..]),
    };
    validators(&v, size, mtime, u32::from(selector));
    ranges(&v, size, spec, other, selector);
    conditionals(&v, mtime, other);
}

fn header(name: HeaderName, value: &[u8]) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    h.insert(name, HeaderValue::from_bytes(value).ok()?);
    Some(h)
}

fn validators(v: &Validators, size: u64, mtime: u32, nsec: u32) {
    let lm = v.last_modified().to_str().expect("ASCII");
    let back = httpdate::parse_http_date(lm).expect("Last-Modified parses");
    let secs = back.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(secs, u64::from(mtime), "{lm}");
    let etag = v.etag().to_str().expect("ASCII");
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );
    for other in [
        Validators::new(size.wrapping_add(1), i64::from(mtime), nsec),
        Validators::new(size, i64::from(mtime) + 1, nsec),
        Validators::new(size, i64::from(mtime), nsec.wrapping_add(1)),
    ] {
        assert_ne!(other.etag(), v.etag(), "two versions share an ETag");
    }
}

fn ranges(v: &Validators, size: u64, spec: &[u8], other: &[u8], selector: u8) {
    assert_eq!(range(&HeaderMap::new(), size, v), Ranged::Whole);
    let Some(mut h) = header(RANGE, spec) else {
        return;
    };
    let plain = range(&h, size, v);
    let spec = std::str::from_utf8(spec).unwrap_or("");
    match plain {
        Ranged::Whole => {}
        Ranged::Unsatisfiable => assert!(spec.trim().starts_with("bytes="), "{spec:?}"),
        Ranged::Part { start, len } => part_matches(spec, size, start, len),
    }
    for own in [v.etag().clone(), v.last_modified().clone()] {
        h.insert(IF_RANGE, own);
        assert_eq!(
            range(&h, size, v),
            plain,
            "If-Range with the file's own validator"
        );
    }
    if selector % 2 == 1 {
        if let Ok(value) = HeaderValue::from_bytes(other) {
            h.insert(IF_RANGE, value);
            let got = range(&h, size, v);
            assert!(
                got == plain || got == Ranged::Whole,
                "{spec:?} If-Range {other:?}"
            );
        }
    }
}

/// A part is inside the file, not empty, and starts or ends where the spec says.
fn part_matches(spec: &str, size: u64, start: u64, len: u64) {
    assert!(len > 0, "{spec:?}: empty part");
    let end = start.checked_add(len).expect("part overflows");
    assert!(end <= size, "{spec:?}: part {start}+{len} beyond {size}");
    let set = spec
        .trim()
        .strip_prefix("bytes=")
        .expect("a part needs bytes=");
    let (first, last) = set.trim().split_once('-').expect("a part needs a dash");
    match (first.trim().parse::<u64>(), last.trim().parse::<u64>()) {
        (Ok(a), Ok(b)) => assert_eq!((start, end - 1), (a, b.min(size - 1)), "{spec:?}"),
        (Ok(a), Err(_)) => assert_eq!((start, end), (a, size), "{spec:?}"),
        (Err(_), Ok(n)) => assert_eq!((start, end), (size - n.min(size), size), "{spec:?}"),
        (Err(_), Err(_)) => panic!("{spec:?}: a part from no numbers"),
    }
}

fn conditionals(v: &Validators, mtime: u32, other: &[u8]) {
    assert!(!v.not_modified(&HeaderMap::new()));
    let mut weak = b"W/".to_vec();
    weak.extend_from_slice(v.etag().as_bytes());
    for matching in [&b"*"[..], v.etag().as_bytes(), &weak, b"\"x\", *"] {
        let mut h = header(IF_NONE_MATCH, matching).unwrap();
        assert!(v.not_modified(&h), "If-None-Match {matching:?}");
        h.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
        );
        assert!(v.not_modified(&h), "If-None-Match decides when present");
    }
    let Some(ims) = header(IF_MODIFIED_SINCE, other) else {
        return;
    };
    let since = std::str::from_utf8(other)
        .ok()
        .and_then(|s| httpdate::parse_http_date(s).ok())
        .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
    let expected = since.is_some_and(|s| s >= u64::from(mtime));
    assert_eq!(
        v.not_modified(&ims),
        expected,
        "If-Modified-Since {other:?}"
    );
    // An If-None-Match that is not visible ASCII is unreadable, hence ignored.
    let readable = other
        .iter()
        .all(|b| (b' '..=b'~').contains(b) || *b == b'\t');
    if let Some(mut both) = header(IF_NONE_MATCH, other).filter(|_| readable) {
        let inm = v.not_modified(&both);
        both.insert(IF_MODIFIED_SINCE, v.last_modified().clone());
        assert_eq!(
            v.not_modified(&both),
            inm,
            "If-None-Match decides when present"
        );
    }
}
