//! Polling by hand: wakers that record when the driver reaped a completion, single polls,
//! waiting until the ring has settled, and joining two futures.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use coreline_runtime::{core_stats, time, yield_now};

/// A waker that records that it fired and passes the wake-up on to the task waiting in
/// [`Probe::fired`]. Polling an op with it tells us exactly when the driver has reaped the
/// op's completion, without observing the completion itself.
#[derive(Default)]
pub(crate) struct Probe {
    fired: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::SeqCst);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = task {
            w.wake();
        }
    }
}

impl Probe {
    fn has_fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Resolves once the probe fired.
    fn fired(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.has_fired() {
                return Poll::Ready(());
            }
            *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            if self.has_fired() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A waker that does nothing (`Waker::noop` is newer than the workspace's MSRV).
struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// Polls once with a waker that does nothing: a lazily submitted op gets its SQE queued.
pub(crate) fn poll_noop<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWaker));
    fut.poll(&mut Context::from_waker(&waker))
}

/// Polls once with a fresh probe; `None` if the future finished on that poll.
pub(crate) fn poll_probe<F: Future + ?Sized>(fut: Pin<&mut F>) -> Option<Arc<Probe>> {
    let probe = Arc::new(Probe::default());
    let waker = Waker::from(probe.clone());
    match fut.poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(_) => None,
        Poll::Pending => Some(probe),
    }
}

/// Lets the core run (submit, reap) until the probe fired, calling `pump` between waits
/// (e.g. to drain a peer so a blocked send can finish). Blocks in the ring between checks,
/// so io-wq workers on the same CPU get to run.
pub(crate) async fn wait_fired(probe: &Probe, what: &str, mut pump: impl FnMut()) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        pump();
        if probe.has_fired() {
            return;
        }
        let _ = time::timeout(Duration::from_millis(1), probe.fired()).await;
        assert!(
            Instant::now() < deadline,
            "{what}: completion never arrived (ops in flight: {})",
            core_stats().ops_in_flight
        );
    }
}

/// Waits until the ring holds at most `target` operations (cancelled ones have delivered
/// their final completion and their buffers are freed).
pub(crate) async fn settle(target: usize) {
    settle_with(target, || {}).await;
}

/// [`settle`], calling `pump` between waits (e.g. draining a peer so that a zero-copy
/// send's notification, which waits for the data to leave the socket, can arrive).
pub(crate) async fn settle_with(target: usize, mut pump: impl FnMut()) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rounds = 0;
    while core_stats().ops_in_flight > target {
        pump();
        assert!(
            Instant::now() < deadline,
            "{} operations still in flight after 10 s (expected {target})",
            core_stats().ops_in_flight
        );
        if rounds < 2 {
            yield_now().await;
        } else {
            // Block in the ring: cancelled io-wq work finishes only when its worker runs,
            // and it shares CPU 0 with us.
            time::sleep(Duration::from_micros(50)).await;
        }
        rounds += 1;
    }
}

/// Polls two futures concurrently until both finish (no external crates needed).
pub(crate) async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = Box::pin(a);
    let mut b = Box::pin(b);
    let (mut ra, mut rb) = (None, None);
    poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}
