//! A buffer that records when it is dropped and what the kernel wrote into it, to show that
//! an abandoned operation keeps its buffer alive until the kernel is done with it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use coreline_runtime::buf::{IoBuf, IoBufMut};

/// A buffer that records when it is dropped and what the kernel wrote into it.
pub(crate) struct Tracked {
    buf: Box<[u8]>,
    init: usize,
    log: Arc<TrackLog>,
}

#[derive(Default)]
pub(crate) struct TrackLog {
    pub(crate) drops: AtomicUsize,
    /// Leading bytes equal to the marker when the buffer was dropped.
    pub(crate) marked: AtomicUsize,
}

pub(crate) const MARK: u8 = 0xa5;

impl Tracked {
    pub(crate) fn for_read(len: usize, log: &Arc<TrackLog>) -> Tracked {
        Tracked {
            buf: vec![0; len].into_boxed_slice(),
            init: 0,
            log: log.clone(),
        }
    }
    pub(crate) fn for_send(len: usize, log: &Arc<TrackLog>) -> Tracked {
        Tracked {
            buf: vec![MARK; len].into_boxed_slice(),
            init: len,
            log: log.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let marked = self.buf.iter().take_while(|&&b| b == MARK).count();
        self.log.marked.store(marked, Ordering::SeqCst);
        self.log.drops.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: the bytes live in a boxed slice whose heap storage does not move with the
// `Tracked`; `init <= buf.len()` always.
unsafe impl IoBuf for Tracked {
    fn stable_ptr(&self) -> *const u8 {
        self.buf.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.init
    }
}

// SAFETY: as above; the whole boxed slice is writable.
unsafe impl IoBufMut for Tracked {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.buf.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.buf.len()
    }
    unsafe fn set_init(&mut self, len: usize) {
        self.init = self.init.max(len);
    }
}
