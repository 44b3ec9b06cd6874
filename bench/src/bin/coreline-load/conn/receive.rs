//! What arrives on a connection: responses matched to the requests owed (latency
//! recorded from each request's start time), the peer's close, and the timeout.

use std::io;
use std::time::Instant;

use coreline_runtime::RecvBuf;

use super::{End, Load};
use crate::response::Flow;
use crate::stats::ErrorKind;
use crate::transport::{Fail, Transport};

impl Load {
    /// Gives up the requests sent if none has been answered within the timeout.
    pub(super) fn timed_out(&mut self, now: Instant) -> bool {
        if self.sent == 0 || now < self.waiting_since + self.core.plan.timeout {
            return false;
        }
        let n = self.sent as u64;
        self.owed.drain(..self.sent);
        let e = io::Error::new(io::ErrorKind::TimedOut, "no response within --timeout");
        self.error(ErrorKind::Timeout, n, &e);
        true
    }

    /// Parses a chunk; `Some(end)` if the connection is done.
    pub(super) fn received(&mut self, transport: &mut Transport, chunk: RecvBuf) -> Option<End> {
        let now = Instant::now();
        let core = self.core.clone();
        let since_start = now.saturating_duration_since(core.plan.measure_from);
        let mut stats = core.stats.borrow_mut();
        let (mut closed, mut orphan, mut eof, mut answered) = (false, false, false, 0);
        let (parser, owed, sent) = (&mut self.parser, &mut self.owed, &mut self.sent);
        let result = transport.deliver(&chunk, &mut eof, |plain| {
            stats.bytes += plain.len() as u64; // response bytes (decrypted, for TLS)
            let flow = parser.feed(plain, &mut |done| match owed.pop_front() {
                Some(start) if *sent > 0 => {
                    *sent -= 1;
                    answered += 1;
                    stats.response(
                        now.saturating_duration_since(start),
                        done.status,
                        since_start,
                    );
                    closed |= done.close;
                }
                other => {
                    orphan = true;
                    if let Some(start) = other {
                        owed.push_front(start);
                    }
                }
            })?;
            // With --close one response ends the connection, even if the server keeps it.
            Ok(flow == Flow::More && !orphan && !(core.plan.close && answered > 0))
        });
        drop(chunk); // back to the ring before anything awaits
        match result {
            Err(Fail::Read(e)) => {
                stats.errors.add_io(ErrorKind::Read, 1, &e);
                return Some(End::Reconnect);
            }
            Err(Fail::Parse(why)) => {
                stats.errors.add(ErrorKind::Parse, 1, || why);
                return Some(End::Reconnect);
            }
            Ok(_) if orphan => {
                stats
                    .errors
                    .add(ErrorKind::Parse, 1, || "a response nobody asked for".into());
                return Some(End::Reconnect);
            }
            Ok(_) => {}
        }
        drop(stats);
        if answered > 0 {
            self.waiting_since = now; // progress: the timeout starts again
        }
        if closed || (self.core.plan.close && answered > 0) {
            return Some(End::Reconnect);
        }
        if eof {
            return Some(self.closed_by_peer());
        }
        None
    }

    /// The server closed: completes a read-until-close body; requests sent and unanswered
    /// are a read error (they are sent again on the next connection).
    pub(super) fn closed_by_peer(&mut self) -> End {
        let now = Instant::now();
        let core = self.core.clone();
        let since_start = now.saturating_duration_since(core.plan.measure_from);
        let (owed, sent) = (&mut self.owed, &mut self.sent);
        let mut stats = core.stats.borrow_mut();
        let clean = self.parser.eof(&mut |done| {
            if let Some(start) = owed.pop_front() {
                *sent = sent.saturating_sub(1);
                stats.response(
                    now.saturating_duration_since(start),
                    done.status,
                    since_start,
                );
            }
        });
        if !clean || self.sent > 0 {
            let n = self.sent;
            stats.errors.add(ErrorKind::Read, 1, || {
                format!("the server closed the connection with {n} requests outstanding")
            });
        }
        End::Reconnect
    }
}
