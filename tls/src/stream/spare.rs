//! Output buffers between sends, kept per thread: a stream holds its output `Vec` only
//! while it seals and sends, and gives the storage back when the send is done, so an idle
//! keep-alive connection holds no output buffer (as a plain connection holds no receive
//! buffer while it waits). A stream lives on one thread, so the list needs no locking.

use std::cell::RefCell;

/// Storage above this is dropped rather than kept (one full record and then some), so one
/// large response does not pin memory.
const KEEP_CAPACITY: usize = 17 * 1024;
/// Spare buffers kept per thread; more sends than this in flight at once allocate.
const KEEP_COUNT: usize = 16;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty output buffer, with storage from an earlier send when one is spare.
pub(super) fn take() -> Vec<u8> {
    SPARE
        .try_with(|spare| spare.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Gives a buffer's storage back for the next send on this thread (emptied first).
pub(super) fn give_back(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEEP_CAPACITY {
        return;
    }
    buf.clear();
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < KEEP_COUNT {
            spare.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_is_reused_on_the_same_thread() {
        let mut buf = take();
        buf.extend_from_slice(&[1; 100]);
        let storage = buf.as_ptr();
        give_back(buf);
        let again = take();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), storage);
        give_back(again);
    }

    #[test]
    fn large_or_empty_buffers_are_not_kept() {
        give_back(Vec::new());
        give_back(Vec::with_capacity(KEEP_CAPACITY + 1));
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), 0);
    }
}
