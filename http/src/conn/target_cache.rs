//! A per-core table of parsed request targets. Parsing a target into a `Uri` walks it byte
//! by byte; most traffic asks for a few short paths again and again, so the first
//! [`ENTRIES`] distinct short targets a core sees are kept parsed (in storage of their own,
//! not the receive buffer, which must stay reusable), and a request for one of them gets a
//! clone: a reference-count increment instead of a parse.
//!
//! The table only fills, so it allocates at most [`ENTRIES`] times per core for its whole
//! life; a target that does not make it in is parsed as usual.

use std::cell::RefCell;

use bytes::Bytes;
use http::Uri;

/// Targets kept per core.
const ENTRIES: usize = 16;
/// Longer targets are not kept (they are rarely repeated and longer to compare).
const MAX_LEN: usize = 64;

thread_local! {
    static TABLE: RefCell<Vec<(Bytes, Uri)>> = const { RefCell::new(Vec::new()) };
}

/// The parsed `target`, from the table, or parsed now and added while the table has room.
/// `None`: parse it from the request's own bytes (it may also be invalid).
pub(super) fn uri_for(target: &[u8]) -> Option<Uri> {
    with_kept(target, Uri::clone)
}

/// Whether `target` parses as a `Uri` (the check building its request would make): a
/// lookup in the table (no clone), which takes it in while there is room; else a parse.
pub(super) fn is_valid(target: &[u8]) -> bool {
    with_kept(target, |_| ()).is_some() || Uri::try_from(target).is_ok()
}

/// `f` of the kept parse of `target`, found in the table or parsed and added while the
/// table has room; `None` if it is not (or cannot be) kept.
fn with_kept<R>(target: &[u8], f: impl FnOnce(&Uri) -> R) -> Option<R> {
    if target.len() > MAX_LEN {
        return None;
    }
    TABLE
        .try_with(|table| {
            let mut table = table.borrow_mut();
            if let Some((_, uri)) = table.iter().find(|(key, _)| key[..] == *target) {
                return Some(f(uri));
            }
            if table.len() >= ENTRIES {
                return None;
            }
            let key = Bytes::copy_from_slice(target);
            let uri = Uri::from_maybe_shared(key.clone()).ok()?;
            table.reserve_exact(ENTRIES);
            let result = f(&uri);
            table.push((key, uri));
            Some(result)
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_target_parses_the_same() {
        for target in ["/plaintext", "/a?b=c", "http://h:1/p", "*"] {
            let first = uri_for(target.as_bytes()).unwrap();
            let again = uri_for(target.as_bytes()).unwrap();
            let parsed: Uri = target.parse().unwrap();
            assert_eq!(first, parsed);
            assert_eq!(again, parsed);
            assert_eq!(again.path_and_query(), parsed.path_and_query());
            assert_eq!(again.authority(), parsed.authority());
        }
    }

    #[test]
    fn long_and_invalid_targets_are_left_to_the_caller() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert!(uri_for(long.as_bytes()).is_none());
        assert!(uri_for(b"/a b").is_none());
    }

    #[test]
    fn validity_is_the_uri_parsers_kept_or_not() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        for (target, valid) in [("/v", true), ("/v", true), (long.as_str(), true)] {
            assert_eq!(is_valid(target.as_bytes()), valid, "{target}");
        }
        assert!(!is_valid(b"/a<b"));
        assert!(!is_valid(format!("{long}<").as_bytes()));
    }

    #[test]
    fn the_table_stops_filling() {
        let targets: Vec<String> = (0..ENTRIES + 4).map(|i| format!("/t{i}")).collect();
        let kept = targets
            .iter()
            .filter(|t| uri_for(t.as_bytes()).is_some())
            .count();
        assert!(kept <= ENTRIES);
        TABLE.with(|t| assert!(t.borrow().len() <= ENTRIES));
    }
}
