//! The start of every `200 OK` response head (status line, `Server`, `Date`), kept encoded
//! per core and server and rebuilt when the core's cached second changes: one append per
//! response instead of one per piece.

use std::cell::RefCell;

use http::StatusCode;

use crate::{date, encode};

/// The encoded start of a `200 OK` head, and the second its `Date` says.
#[derive(Default)]
pub(crate) struct OkHeadStart {
    cached: RefCell<(u64, Vec<u8>)>,
}

impl OkHeadStart {
    /// Appends the status line, `Server` (if `server` is some; the same value on every
    /// call) and `Date` of a `200 OK`, as of the core's cached second.
    pub(crate) fn write(&self, out: &mut Vec<u8>, server: Option<&[u8]>) {
        let (secs, value) = date::current_with_second();
        let mut cached = self.cached.borrow_mut();
        if cached.0 != secs || cached.1.is_empty() {
            cached.1.clear();
            encode::head_start(&mut cached.1, StatusCode::OK, server, &value);
            cached.0 = secs;
        }
        out.extend_from_slice(&cached.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_as_the_plain_encoder() {
        date::refresh();
        for server in [Some(&b"coreline"[..]), None] {
            let start = OkHeadStart::default();
            let mut cached = Vec::new();
            start.write(&mut cached, server);
            start.write(&mut cached, server); // (from the cache)
            let (_, value) = date::current_with_second();
            let mut plain = Vec::new();
            encode::head_start(&mut plain, StatusCode::OK, server, &value);
            assert_eq!(cached, [plain.clone(), plain].concat());
        }
    }
}
