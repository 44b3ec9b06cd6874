//! The generic in-flight operation futures: single-shot [`Op`] and multishot [`MultiOp`].
//!
//! An op is submitted lazily on its first poll. Dropping it before that submits nothing;
//! dropping it afterwards hands its data (buffers, paths, addresses) to the driver, which
//! cancels the op and frees the data only when the kernel's final completion arrives.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use io_uring::squeue;

use crate::context::with_driver;
use crate::driver::slot::{Completion, OpKey, OpKind, Queued};

/// What an operation owns and how it turns a completion into its output.
pub(crate) trait OpData: Unpin + 'static {
    /// The future's output.
    type Output;
    /// What an unread completion of this op may carry (fd, buffer) that needs releasing.
    const KIND: OpKind;
    /// Builds the SQE. Pointers in it may only point at heap data owned by `self`.
    fn sqe(&mut self) -> squeue::Entry;
    /// Turns the completion into the output, giving buffers back.
    fn complete(self, c: Completion) -> Self::Output;
}

enum State<T> {
    Unsubmitted(T),
    Submitted(OpKey, T),
    Finished,
}

/// A single-shot io_uring operation.
#[must_use = "operations do nothing unless awaited"]
pub(crate) struct Op<T: OpData> {
    state: State<T>,
    /// Ops belong to the ring of the core that created them: never `Send`.
    _not_send: PhantomData<Rc<()>>,
}

impl<T: OpData> Op<T> {
    pub(crate) fn new(data: T) -> Self {
        Op {
            state: State::Unsubmitted(data),
            _not_send: PhantomData,
        }
    }
}

impl<T: OpData> Op<T> {
    /// Submits the operation now, if it is not yet, without registering a waker: its
    /// completion wakes nobody until the op is polled (which then finds it done).
    pub(crate) fn start(&mut self) {
        if let State::Unsubmitted(data) = &mut self.state {
            let sqe = data.sqe();
            let key = with_driver(|d| d.submit(sqe, T::KIND, false));
            let State::Unsubmitted(data) = std::mem::replace(&mut self.state, State::Finished)
            else {
                unreachable!()
            };
            self.state = State::Submitted(key, data);
        }
    }
}

impl<T: OpData> Future for Op<T> {
    type Output = T::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = &mut *self;
        this.start();
        let State::Submitted(key, _) = &this.state else {
            panic!("coreline: operation polled after completion");
        };
        let key = *key;
        match with_driver(|d| d.poll_op(key, cx)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(c) => {
                let State::Submitted(_, data) = std::mem::replace(&mut this.state, State::Finished)
                else {
                    unreachable!()
                };
                Poll::Ready(data.complete(c))
            }
        }
    }
}

impl<T: OpData> Drop for Op<T> {
    fn drop(&mut self) {
        if let State::Submitted(key, data) = std::mem::replace(&mut self.state, State::Finished) {
            abandon(key, Box::new(data));
        }
    }
}

/// Hands an op's data to the driver. Without a core (the thread is past teardown, whose
/// drain waited for the kernel to finish everything) the data is simply dropped.
fn abandon(key: OpKey, data: Box<dyn std::any::Any>) {
    let _ = crate::context::try_with_core(|core| core.driver.borrow_mut().abandon(key, data));
}

/// A multishot operation (accept, recv): one submission, many completions.
pub(crate) struct MultiOp<T: 'static> {
    key: Option<OpKey>,
    /// Kept alive for as long as the kernel may use it (e.g. nothing, or a socket address).
    data: Option<T>,
    kind: OpKind,
    _not_send: PhantomData<Rc<()>>,
}

impl<T: 'static> MultiOp<T> {
    pub(crate) fn idle(kind: OpKind) -> Self {
        MultiOp {
            key: None,
            data: None,
            kind,
            _not_send: PhantomData,
        }
    }

    pub(crate) fn is_armed(&self) -> bool {
        self.key.is_some()
    }

    /// Submits the multishot SQE.
    pub(crate) fn arm(&mut self, sqe: squeue::Entry, data: T) {
        debug_assert!(self.key.is_none());
        let kind = self.kind;
        self.key = Some(with_driver(|d| d.submit(sqe, kind, true)));
        self.data = Some(data);
    }

    /// Asks the kernel to end the operation (`ASYNC_CANCEL`, unless one is on its way
    /// already). Completions it already made are still delivered by
    /// [`poll_next`](Self::poll_next), then `Ready(None)`.
    pub(crate) fn cancel(&self) {
        if let Some(key) = self.key {
            with_driver(|d| d.cancel_multi(key));
        }
    }

    /// Next completion; `Ready(None)` when the kernel ended the op (re-arm to continue).
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Queued>> {
        let Some(key) = self.key else {
            return Poll::Ready(None);
        };
        match with_driver(|d| d.poll_multi(key, cx)) {
            Poll::Ready(None) => {
                self.key = None;
                self.data = None;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl<T: 'static> Drop for MultiOp<T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            abandon(key, Box::new(self.data.take()));
        }
    }
}
