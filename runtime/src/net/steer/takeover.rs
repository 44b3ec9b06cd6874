//! Taking over a lagging core's queue: another core accepts from that core's listener
//! while it lags, so the connections already sent to it do not wait for it.
//!
//! The rule: a core is lagging when the program would pass it over
//! ([`SteerLoads::lagging`], the same test the program makes). While a peer lags, a core
//! with free CPU polls the peer's listener (a one-shot `IORING_OP_POLL_ADD`, re-armed
//! after each round: not exclusive, so the kernel wakes it on every new connection even
//! though the owner's multishot accept, an exclusive waiter, takes the wake-up first) and
//! accepts from it without blocking ([`PeerListener::try_accept`]). The owner's accept
//! and the thief's race on the same queue: the kernel gives each connection to one of
//! them, and the other finds the queue empty (`EAGAIN`). The thief serves what it took
//! as its own and calls [`SteerLoads::took_over`], so the owner's pending count drops as
//! if the owner had accepted it. It stops watching when the peer has published since the
//! watch began and is no longer lagging ([`SteerLoads::is_back`]) — the server keeps
//! watching until that has held for a while, since a starved core looks back right after
//! each slice it gets — or when the peer's listener leaves the group (drain). In the healthy case no core lags and nothing is
//! polled.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;

use super::program::{ACCEPTED, LAG, LAG_AT, PENDING_SINCE, STAMP, STEERED};
use super::{lag, monotonic_ns, SteerLoads};
use crate::fd::SharedFd;
use crate::net::TcpStream;
use crate::{rx_stamp, sys};

/// What a watch remembers of the peer when it began: when the peer last published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishMark(u64);

impl SteerLoads {
    /// Core `core`'s lag as the program computes it: the larger of its remembered lag,
    /// decayed, and how long the connections sent to it have waited since it last
    /// published (none pending, or pending past [`SETTLE`](Self::SETTLE): no wait).
    fn effective_lag(&self, core: usize, now: u64) -> u64 {
        let load = |field| self.word(core, field).load(Ordering::Relaxed);
        let pending = load(STEERED).saturating_sub(load(ACCEPTED));
        let mut wait = 0;
        if pending > 0 {
            let since = load(STAMP).max(load(PENDING_SINCE));
            wait = now.saturating_sub(since);
            if wait > Self::SETTLE.as_nanos() as u64 {
                wait = 0;
            }
        }
        let remembered = lag::decayed(load(LAG), now.saturating_sub(load(LAG_AT)), Self::LAG_SHIFT);
        remembered.max(wait)
    }

    /// Whether the program passes core `core` over now: its lag is above twice the lowest
    /// lag of the cores plus [`LAG_SLACK`](Self::LAG_SLACK).
    pub fn lagging(&self, core: usize) -> bool {
        let now = monotonic_ns();
        let lowest = (0..self.cores())
            .map(|c| self.effective_lag(c, now))
            .min()
            .unwrap_or(0);
        let limit = lowest
            .saturating_mul(2)
            .saturating_add(Self::LAG_SLACK.as_nanos() as u64);
        self.effective_lag(core, now) > limit
    }

    /// The first core other than `me` that is [`lagging`](Self::lagging), if any.
    pub fn lagging_peer(&self, me: usize) -> Option<usize> {
        (0..self.cores()).find(|&c| c != me && self.lagging(c))
    }

    /// When core `core` last published, to compare with a later one ([`is_back`]).
    ///
    /// [`is_back`]: Self::is_back
    pub fn publish_mark(&self, core: usize) -> PublishMark {
        PublishMark(self.word(core, STAMP).load(Ordering::Acquire))
    }

    /// Whether core `core` has published since `mark` and is not lagging: it runs again,
    /// and another core may stop taking over its queue.
    pub fn is_back(&self, core: usize, mark: PublishMark) -> bool {
        self.publish_mark(core) != mark && !self.lagging(core)
    }

    /// A connection sent to core `core` is served by another core (taken over from its
    /// listener, or handed off after it accepted it): it no longer counts as pending
    /// there. Does nothing when none is pending (the connection was placed by the
    /// kernel's hash, not sent by the program).
    pub fn took_over(&self, core: usize) {
        let accepted = self.word(core, ACCEPTED).load(Ordering::Relaxed);
        let _ = self.word(core, STEERED).fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |steered| (steered > accepted).then(|| steered - 1),
        );
    }
}

/// Another core's steered listener, as seen by the core taking over its queue: a
/// duplicate of its fd (see [`SteerGroup::peer`](super::SteerGroup::peer)). Drop it as
/// soon as the watch ends: while it lives the socket stays open.
#[derive(Debug)]
pub struct PeerListener {
    fd: SharedFd,
    stamped: bool,
}

impl PeerListener {
    pub(super) fn new(fd: OwnedFd) -> PeerListener {
        PeerListener {
            fd: SharedFd::new(fd),
            stamped: rx_stamp::on_this_core(),
        }
    }

    /// Waits until the listener has a connection queued (or is in error: the next
    /// [`try_accept`](Self::try_accept) says which). Dropping the future cancels the poll.
    pub async fn readable(&self) -> io::Result<()> {
        crate::ops::readable(&self.fd).await
    }

    /// Accepts one queued connection without blocking; `None` when the queue is empty
    /// (the owner, or another core, took what was there).
    pub fn try_accept(&self) -> io::Result<Option<TcpStream>> {
        // SAFETY: accept4 with null address pointers writes nothing of ours; the listener
        // is non-blocking (set when it joined its group), so it returns at once.
        let fd = unsafe {
            libc::accept4(
                self.fd.raw(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(TcpStream::accepted(sys::own_fd(fd), self.stamped)))
    }
}
