//! Where a connection waits between the `101` and whoever claims it: one table per
//! thread, keyed by a number that the [`OnUpgrade`](super::OnUpgrade) tokens carry (the
//! tokens must be `Send + Sync`; the connections are not).
//!
//! A slot lives until its last token is dropped, so an upgrade nobody claims (the handler
//! dropped its `OnUpgrade`) closes its connection instead of keeping it open.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use super::{OnUpgrade, Upgraded};

/// A connection's state between the request and the claim.
enum Slot {
    /// The response is not written yet; the claimant to wake when it is.
    Waiting(Option<Waker>),
    Ready(Upgraded),
    /// The answer was not a `101`, or the connection ended first.
    Refused,
    /// Claimed by a token.
    Taken,
}

thread_local! {
    static SLOTS: RefCell<HashMap<u64, Slot>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

/// What an [`OnUpgrade`] holds: its slot's number and thread. Dropping the last clone
/// frees the slot (and closes an upgraded connection nobody claimed).
#[derive(Debug)]
pub(super) struct Token {
    id: u64,
    thread: ThreadId,
}

impl Token {
    pub(super) fn poll(&self, cx: &mut Context<'_>) -> Poll<io::Result<Upgraded>> {
        if thread::current().id() != self.thread {
            return Poll::Ready(Err(io::Error::other(
                "an upgraded connection can only be taken on the core that served it",
            )));
        }
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            let Some(slot) = slots.get_mut(&self.id) else {
                return Poll::Ready(Err(super::not_upgraded()));
            };
            match slot {
                Slot::Waiting(waker) => {
                    *waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                Slot::Ready(_) => match std::mem::replace(slot, Slot::Taken) {
                    Slot::Ready(upgraded) => Poll::Ready(Ok(upgraded)),
                    _ => unreachable!("matched Ready above"),
                },
                Slot::Refused | Slot::Taken => Poll::Ready(Err(super::not_upgraded())),
            }
        })
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if thread::current().id() != self.thread {
            return; // (the slot is freed when its thread ends)
        }
        let removed = SLOTS.try_with(|slots| slots.borrow_mut().remove(&self.id));
        drop(removed); // outside the borrow: dropping a connection deregisters it
    }
}

fn token(slot: Slot) -> (u64, OnUpgrade) {
    let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
    SLOTS.with(|slots| slots.borrow_mut().insert(id, slot));
    let token = Token {
        id,
        thread: thread::current().id(),
    };
    (
        id,
        OnUpgrade {
            token: Some(std::sync::Arc::new(token)),
        },
    )
}

/// A slot for a connection that may be upgraded once its response is written: its number
/// (for [`fulfil`] or [`refuse`]) and the `OnUpgrade` for the request.
pub(crate) fn pending() -> (u64, OnUpgrade) {
    token(Slot::Waiting(None))
}

/// An `OnUpgrade` resolving at once to `upgraded` (the client's side: the `101` has
/// arrived already).
pub(crate) fn ready(upgraded: Upgraded) -> OnUpgrade {
    token(Slot::Ready(upgraded)).1
}

/// The `101` is written: hands `upgraded` to slot `id`'s claimant. If every token is gone,
/// nobody can claim it, and it is dropped (closed).
pub(crate) fn fulfil(id: u64, upgraded: Upgraded) {
    set(id, Slot::Ready(upgraded));
}

/// Slot `id` will not be upgraded.
pub(crate) fn refuse(id: u64) {
    set(id, Slot::Refused);
}

fn set(id: u64, new: Slot) {
    let mut new = Some(new);
    let old = SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        let slot = slots.get_mut(&id)?;
        new.take().map(|new| std::mem::replace(slot, new))
    });
    drop(new); // unclaimable (outside the borrow: dropping a connection deregisters it)
    if let Some(Slot::Waiting(Some(waker))) = old {
        waker.wake();
    }
}
