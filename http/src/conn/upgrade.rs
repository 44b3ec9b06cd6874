//! Upgrades on the server side: offering one to a request that asks for it, and after
//! the `101`, handing the socket (and the bytes past the request head) to the
//! [`Upgraded`] the handler claims. See [`crate::upgrade`].

use std::rc::Rc;
use std::task::Context;

use http::{Request, Version};

use super::io::ConnIo;
use super::request::Head;
use super::transport::Transport;
use crate::parse::RequestFraming;
use crate::upgrade::{self, Owner, Upgraded};
use crate::Body;

/// `ConnIo::upgrade` once the connection is upgraded (slot numbers count up from 1).
const HANDED_OVER: u64 = u64::MAX;

impl ConnIo {
    /// Offers `req` an upgrade (an [`OnUpgrade`](crate::upgrade::OnUpgrade) extension) if
    /// it asks for one and can have it: HTTP/1.1, no body (the bytes after the head belong
    /// to the new protocol), plain TCP, and the server not draining.
    #[inline]
    pub(super) fn offer_upgrade(&self, head: &Head, req: &mut Request<Body>) {
        // Most requests have no `Upgrade` field: one branch, inlined into the request path.
        if head.upgrade_field {
            self.offer_if_allowed(head, req);
        }
    }

    /// The rest of [`offer_upgrade`](Self::offer_upgrade), for a head with an `Upgrade` field.
    #[inline(never)]
    fn offer_if_allowed(&self, head: &Head, req: &mut Request<Body>) {
        let no_body = matches!(
            head.framing,
            RequestFraming::None | RequestFraming::Length(0)
        );
        if head.version != Version::HTTP_11
            || !no_body
            || self.is_tls()
            || self.registry.is_draining()
            || !upgrade::is_requested(req.headers())
        {
            return;
        }
        let (id, on_upgrade) = upgrade::pending();
        self.upgrade.set(id);
        req.extensions_mut().insert(on_upgrade);
    }

    /// Takes the current request's upgrade offer, if it has one.
    pub(super) fn take_upgrade(&self) -> Option<u64> {
        match self.upgrade.get() {
            0 | HANDED_OVER => None,
            id => {
                self.upgrade.set(0);
                Some(id)
            }
        }
    }

    /// Whether the socket went to an upgraded connection.
    pub(super) fn is_handed_over(&self) -> bool {
        self.upgrade.get() == HANDED_OVER
    }

    /// The current request will not be upgraded (its answer is not a `101`, or the
    /// connection failed): its `OnUpgrade` resolves to an error.
    pub(super) fn refuse_upgrade(&self) {
        if let Some(id) = self.take_upgrade() {
            upgrade::refuse(id);
        }
    }
}

/// After the `101` has been sent: moves the socket and the bytes past the request head
/// into an [`Upgraded`] for offer `id`. The connection stays registered (counted, and
/// ended by graceful shutdown) until that is dropped; its task ends.
pub(super) fn hand_over(io: &Rc<ConnIo>, id: u64) {
    let stream = match &io.transport {
        Transport::Plain(cell) => cell.take(),
        Transport::Tls(_) => None,
    };
    let Some(stream) = stream else {
        return upgrade::refuse(id);
    };
    let leftover = io.inbuf.borrow_mut().split().freeze();
    io.clear_deadline(); // (the pipe's owner times it, not the sweeper)
    io.upgrade.set(HANDED_OVER);
    let owner = Registered(Rc::clone(io));
    upgrade::fulfil(id, Upgraded::new(stream, leftover, Some(Box::new(owner))));
}

/// An upgraded connection's place in the core's registry, given up when it is dropped.
struct Registered(Rc<ConnIo>);

impl Owner for Registered {
    fn poll_ending(&self, cx: &mut Context<'_>) -> bool {
        if self.0.registry.is_draining() {
            return true;
        }
        self.0.set_waker(cx.waker());
        false
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.registry.deregister(self.0.key.get());
    }
}
