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
    if target.len() > MAX_LEN {
        return None;
    }
    TABLE
        .try_with(|table| {
            let mut table = table.borrow_mut();
            if let Some((_, uri)) = table.iter().find(|(key, _)| key[..] == *target) {
                return Some(uri.clone());
            }
            if table.len() >= ENTRIES {
                return None;
            }
            let key = Bytes::copy_from_slice(target);
            let uri = Uri::from_maybe_shared(key.clone()).ok()?;
            table.reserve_exact(ENTRIES);
            table.push((key, uri.clone()));
            Some(uri)
        })
        .ok()
        .flatten()
}

/// Whether `target` parses as a `Uri` (the check building its request would make): a
/// lookup in the table, which takes it in while there is room; else a parse.
pub(super) fn is_valid(target: &[u8]) -> bool {
    let known = target.len() <= MAX_LEN
        && TABLE
            .try_with(|table| table.borrow().iter().any(|(key, _)| key[..] == *target))
            .unwrap_or(false);
    known || uri_for(target).is_some() || Uri::try_from(target).is_ok()
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
