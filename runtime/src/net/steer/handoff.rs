//! Handing accepted connections to another core: a core that finds itself lagging when
//! its accept completions arrive passes the connections it accepted to a healthy core
//! instead of serving them in its own later slices.
//!
//! The rule ([`SteerLoads::hand_off_target`]): when a batch of accepts arrives, the core
//! refreshes its own lag and asks whether it is lagging by the program's own test
//! ([`SteerLoads::lagging`]); if so, the whole batch goes to the core that is not lagging
//! with the lowest load. The lag is the scheduler's run-queue wait plus the wait of the
//! connections sent to the core, not the time since the core's previous loop turn: a
//! core idle in `io_uring_enter` also has a long gap between turns, and it serves a new
//! connection at once.
//!
//! The way there ([`SteerGroup::hand_off`]): one inbox per core and listener group (a
//! mutex-guarded list of fds and the waker of the target's adopting task). Waking that
//! task from the lagging core goes through the runtime's cross-core wake (the target's
//! inbox and eventfd, on which its ring always has a read pending), so the target needs
//! no system call to see it. The target adopts each fd as its own accepted connection
//! ([`SteerGroup::poll_handed`]). A target that stops closes its inbox
//! ([`SteerGroup::close_inbox`]) and serves what was left in it; a hand-off to a closed
//! inbox gives the connection back, and the lagging core serves it itself.

use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::{SteerGroup, SteerLoads};
use crate::net::TcpStream;
use crate::rx_stamp;

/// One core's inbox of connections handed to it.
#[derive(Default)]
pub(super) struct Inbox {
    fds: Vec<OwnedFd>,
    /// The task that adopts them.
    waker: Option<Waker>,
    /// The core stopped adopting: hand-offs are refused.
    closed: bool,
}

/// The inboxes of one listener group, one per core.
pub(super) struct Inboxes(Box<[Mutex<Inbox>]>);

impl Inboxes {
    pub(super) fn new(cores: usize) -> Inboxes {
        Inboxes((0..cores).map(|_| Mutex::default()).collect())
    }

    fn slot(&self, core: usize) -> Option<MutexGuard<'_, Inbox>> {
        let slot = self.0.get(core)?;
        Some(slot.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl std::fmt::Debug for Inboxes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inboxes")
            .field("cores", &self.0.len())
            .finish()
    }
}

impl SteerLoads {
    /// Where core `me` should hand the connections it just accepted: `None` unless it is
    /// [`lagging`](Self::lagging); then the other core with the lowest load among those
    /// that are not lagging (`None` if every other core lags too).
    pub fn hand_off_target(&self, me: usize) -> Option<usize> {
        if !self.lagging(me) {
            return None;
        }
        (0..self.cores())
            .filter(|&c| c != me && !self.lagging(c))
            .min_by_key(|&c| self.load(c))
    }
}

impl SteerGroup {
    /// Hands `stream`, accepted on this core, to core `to`'s inbox and wakes the task
    /// adopting there. Gives the stream back if `to` is out of range or has closed its
    /// inbox (it is stopping): the caller then serves it.
    pub fn hand_off(&self, to: usize, stream: TcpStream) -> Result<(), TcpStream> {
        let Some(mut inbox) = self.inboxes.slot(to) else {
            return Err(stream);
        };
        if inbox.closed {
            return Err(stream);
        }
        // A fresh accepted stream has no op in flight, so this is its own fd.
        inbox.fds.push(OwnedFd::from(stream));
        let waker = inbox.waker.take();
        drop(inbox);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// The connections handed to core `me` since the last call, as accepted on the
    /// calling core; `Pending` (waking `cx` at the next hand-off) when there are none.
    /// Call it on core `me`.
    pub fn poll_handed(&self, me: usize, cx: &mut Context<'_>) -> Poll<Vec<TcpStream>> {
        let Some(mut inbox) = self.inboxes.slot(me) else {
            return Poll::Pending;
        };
        if inbox.fds.is_empty() {
            if !inbox
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                inbox.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let fds = std::mem::take(&mut inbox.fds);
        drop(inbox);
        Poll::Ready(adopt(fds))
    }

    /// Core `me` stops adopting: later hand-offs to it are refused, and what its inbox
    /// still holds is returned for it to serve (or close). Call it on core `me`.
    pub fn close_inbox(&self, me: usize) -> Vec<TcpStream> {
        let Some(mut inbox) = self.inboxes.slot(me) else {
            return Vec::new();
        };
        inbox.closed = true;
        inbox.waker = None;
        let fds = std::mem::take(&mut inbox.fds);
        drop(inbox);
        adopt(fds)
    }
}

/// The handed fds as connections of the calling core (with its receive-timestamp
/// setting, which every core shares).
fn adopt(fds: Vec<OwnedFd>) -> Vec<TcpStream> {
    let stamped = rx_stamp::on_this_core();
    fds.into_iter()
        .map(|fd| TcpStream::accepted(fd, stamped))
        .collect()
}
