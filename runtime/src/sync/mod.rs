//! Channels that work between cores and from threads outside the runtime: [`oneshot`]
//! and a bounded [`mpsc`].
//!
//! They are `futures-channel`'s (the futures-rs project's), not a channel of our own: it
//! stores the receiving task's std `Waker` and wakes it from whichever thread sends, and a
//! coreline task's waker fired on another thread hands the wake-up to the owning core's
//! inbox (a queue plus an eventfd its ring always reads), which wakes that core even while
//! it waits in `io_uring_enter`. So the crate needs nothing runtime-specific. [`mpsc`]
//! wraps it for `async fn` send and receive without `futures-util`, and adds blocking
//! forms for threads outside the runtime.

pub mod mpsc;

/// A single value from one task or thread to another: `futures-channel`'s oneshot.
///
/// `Sender::send` never waits; the `Receiver` is a future giving the value, or
/// `Err(Canceled)` if the sender was dropped without sending.
pub mod oneshot {
    pub use futures_channel::oneshot::{channel, Canceled, Receiver, Sender};
}

/// Runs `future` to completion on the calling thread, parking it between polls. For
/// threads outside the runtime only: on a core it would stop every task of that core.
pub(crate) fn block_on_thread<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    debug_assert!(
        crate::context::try_with_core(|_| ()).is_none(),
        "coreline: a blocking channel call on a core's thread would stall the core"
    );
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}
