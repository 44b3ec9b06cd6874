//! A bounded multi-producer, single-consumer channel (`futures-channel`'s, wrapped).

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::mpsc as chan;
pub use futures_channel::mpsc::TryRecvError;
use futures_core::Stream;

/// A bounded channel holding up to `capacity` values, plus one more per [`Sender`] (each
/// sender may always put one value in flight, so a sender that was woken never loses its
/// slot). Senders wait while it is full.
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = chan::channel(capacity);
    (Sender(tx), Receiver(rx))
}

/// The sending half; clone it for more producers. `Send` if `T` is.
pub struct Sender<T>(chan::Sender<T>);

/// The value could not be sent because the [`Receiver`] is gone; here it is back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Why [`Sender::try_send`] failed; both carry the value back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full right now.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    pub async fn send(&mut self, value: T) -> Result<(), SendError<T>> {
        if poll_fn(|cx| self.0.poll_ready(cx)).await.is_err() {
            return Err(SendError(value));
        }
        // poll_ready reserved a slot for this sender, so only a closed channel fails here.
        self.0
            .try_send(value)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        self.0.try_send(value).map_err(|e| {
            if e.is_full() {
                TrySendError::Full(e.into_inner())
            } else {
                TrySendError::Closed(e.into_inner())
            }
        })
    }

    /// [`send`](Self::send) from a thread outside the runtime, parking it while the
    /// channel is full. Never call it on a core's thread: the whole core would wait.
    pub fn blocking_send(&mut self, value: T) -> Result<(), SendError<T>> {
        super::block_on_thread(self.send(value))
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The receiving half. Also a [`Stream`] of the values.
pub struct Receiver<T>(chan::Receiver<T>);

impl<T> Receiver<T> {
    /// The next value; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.0).poll_next(cx)
    }

    /// A value if one is queued now (`Empty`: none yet; `Closed`: none will come).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }

    /// [`recv`](Self::recv) from a thread outside the runtime, parking it meanwhile.
    /// Never call it on a core's thread: the whole core would wait.
    pub fn blocking_recv(&mut self) -> Option<T> {
        super::block_on_thread(self.recv())
    }

    /// Stops the senders: later sends fail; values already queued can still be received.
    pub fn close(&mut self) {
        self.0.close();
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
