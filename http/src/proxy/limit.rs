//! [`Limiter`]: at most `max` upstream exchanges at a time on one core, and at most
//! `queue` requests waiting for one; a request beyond both is refused at once (the proxy
//! answers 503), so a slow upstream cannot pile up unbounded work.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// One core's bound on the exchanges with one upstream.
pub(super) struct Limiter {
    max: usize,
    queue: usize,
    active: Cell<usize>,
    waiting: RefCell<VecDeque<Rc<Slot>>>,
}

/// A queued request: granted a permit by a finishing one, then woken.
#[derive(Default)]
struct Slot {
    granted: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// The right to one exchange; given on to the next waiter when dropped.
pub(super) struct Permit {
    limiter: Rc<Limiter>,
}

/// The queue is full.
#[derive(Debug)]
pub(super) struct Full;

impl Limiter {
    /// `max` exchanges at once (0: no limit), `queue` more waiting.
    pub(super) fn new(max: usize, queue: usize) -> Rc<Limiter> {
        Rc::new(Limiter {
            max,
            queue,
            active: Cell::new(0),
            waiting: RefCell::new(VecDeque::new()),
        })
    }

    /// A permit now, after a wait in the queue, or `Full` at once.
    pub(super) fn acquire(self: &Rc<Self>) -> Result<impl Future<Output = Permit> + 'static, Full> {
        let state = if self.max == 0 || self.active.get() < self.max {
            self.active.set(self.active.get() + 1);
            State::Granted
        } else if self.waiting.borrow().len() < self.queue {
            let slot = Rc::new(Slot::default());
            self.waiting.borrow_mut().push_back(Rc::clone(&slot));
            State::Queued(slot)
        } else {
            return Err(Full);
        };
        Ok(Acquire {
            limiter: Rc::clone(self),
            state,
        })
    }

    /// Exchanges in progress.
    #[cfg(test)]
    fn active(&self) -> usize {
        self.active.get()
    }

    /// A permit is given back: to the first waiter, else freed.
    fn release(&self) {
        if let Some(next) = self.waiting.borrow_mut().pop_front() {
            next.granted.set(true);
            if let Some(waker) = next.waker.borrow_mut().take() {
                waker.wake();
            }
            return;
        }
        self.active.set(self.active.get() - 1);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.release();
    }
}

/// Waiting for a permit. Dropped while queued, it leaves the queue; dropped holding a
/// permit not yet taken, it passes the permit on.
struct Acquire {
    limiter: Rc<Limiter>,
    state: State,
}

enum State {
    /// Holds a permit, to be taken.
    Granted,
    /// In the queue (its slot says when a permit was handed over).
    Queued(Rc<Slot>),
    /// The permit was taken.
    Taken,
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = self.get_mut();
        if let State::Queued(slot) = &this.state {
            if !slot.granted.get() {
                *slot.waker.borrow_mut() = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        this.state = State::Taken;
        Poll::Ready(Permit {
            limiter: Rc::clone(&this.limiter),
        })
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, State::Taken) {
            State::Granted => self.limiter.release(),
            State::Queued(slot) if slot.granted.get() => self.limiter.release(),
            State::Queued(slot) => self
                .limiter
                .waiting
                .borrow_mut()
                .retain(|s| !Rc::ptr_eq(s, &slot)),
            State::Taken => {}
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn over_the_limit_waits_and_over_the_queue_is_refused() {
        let limiter = Limiter::new(1, 1);
        let mut first = Box::pin(limiter.acquire().unwrap());
        let Poll::Ready(permit) = poll(&mut first) else {
            panic!("the first is granted at once")
        };
        let mut second = Box::pin(limiter.acquire().unwrap());
        assert!(poll(&mut second).is_pending());
        assert!(limiter.acquire().is_err(), "queue of one is full");
        drop(permit);
        let Poll::Ready(permit) = poll(&mut second) else {
            panic!("the waiter gets the permit")
        };
        assert_eq!(limiter.active(), 1);
        drop(permit);
        assert_eq!(limiter.active(), 0);
    }

    #[test]
    fn a_dropped_waiter_leaves_the_queue_and_passes_on_a_grant() {
        let limiter = Limiter::new(1, 2);
        let mut first = Box::pin(limiter.acquire().unwrap());
        let Poll::Ready(permit) = poll(&mut first) else {
            panic!()
        };
        let mut gone = Box::pin(limiter.acquire().unwrap());
        assert!(poll(&mut gone).is_pending());
        drop(gone);
        let granted_then_dropped = Box::pin(limiter.acquire().unwrap());
        let mut last = Box::pin(limiter.acquire().unwrap());
        assert!(poll(&mut last).is_pending());
        drop(permit);
        drop(granted_then_dropped);
        assert!(matches!(poll(&mut last), Poll::Ready(_)));
        assert_eq!(
            limiter.active(),
            0,
            "the last permit was dropped with its future"
        );
        drop(last);
        let unpolled = limiter.acquire().unwrap();
        drop(unpolled);
        assert_eq!(limiter.active(), 0, "an unpolled grant is given back");
    }
}
