//! [`CoreAccessLog`]: one core's buffer of formatted lines, handed to the writer whole.

use std::cell::{Cell, RefCell};

use super::format::{self, Record, TimeCache};
use super::{AccessLog, FLUSH_AT};
use crate::date;

/// Room for the line that takes a full buffer past [`FLUSH_AT`], so the buffer rarely
/// grows.
const LINE_ROOM: usize = 4 * 1024;

/// One core's access-log state (in the core's registry; never shared between threads).
pub(crate) struct CoreAccessLog {
    log: AccessLog,
    buf: RefCell<Vec<u8>>,
    lines: Cell<u64>,
    time: RefCell<TimeCache>,
}

impl CoreAccessLog {
    pub(crate) fn new(log: AccessLog) -> Self {
        CoreAccessLog {
            log,
            buf: RefCell::new(Vec::new()),
            lines: Cell::new(0),
            time: RefCell::new(TimeCache::default()),
        }
    }

    /// Appends the line of `record`; hands the buffer to the writer once it is full.
    pub(crate) fn write(&self, record: &Record<'_>) {
        let full = {
            let mut time = self.time.borrow_mut();
            time.update(date::now_unix_secs());
            let mut buf = self.buf.borrow_mut();
            if buf.capacity() == 0 {
                buf.reserve(FLUSH_AT + LINE_ROOM);
            }
            format::write_line(&mut buf, self.log.format(), &time, record);
            buf.len() >= FLUSH_AT
        };
        self.lines.set(self.lines.get() + 1);
        if full {
            self.flush();
        }
    }

    /// Hands the buffered lines, if any, to the writer (the core's timer calls this, and
    /// the core's end).
    pub(crate) fn flush(&self) {
        let buf = std::mem::take(&mut *self.buf.borrow_mut());
        if buf.is_empty() {
            *self.buf.borrow_mut() = buf; // (keeps its storage)
            return;
        }
        self.log.hand_over(buf, self.lines.replace(0));
    }
}
