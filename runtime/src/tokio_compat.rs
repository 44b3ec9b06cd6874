//! Calling tokio-based libraries from a core (feature `tokio`): a tokio runtime beside the
//! cores runs the futures that need one, and the core awaits their output without blocking.
//!
//! ```no_run
//! use coreline_runtime::tokio_compat::TokioBridge;
//! use coreline_runtime::{Cores, Runtime};
//!
//! let tokio = TokioBridge::start()?; // or TokioBridge::from_handle(your_handle)
//! Runtime::builder().cores(Cores::All).build()?.run(move |_core| {
//!     let tokio = tokio.clone();
//!     async move {
//!         // The future is built here but first polled on a tokio worker: build tokio
//!         // objects inside the `async` block, where the tokio context is current.
//!         let slept = tokio
//!             .run(async {
//!                 tokio::time::sleep(std::time::Duration::from_millis(2)).await;
//!                 "slept"
//!             })
//!             .await;
//!         assert_eq!(slept, "slept");
//!     }
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Design: a tokio runtime beside the cores, with a cross-thread handoff.** [`TokioBridge::run`]
//! spawns the future on the tokio runtime (by default a multi-thread runtime with one
//! worker, or the embedder's own through a [`tokio::runtime::Handle`]) and returns a future
//! for the core that polls tokio's `JoinHandle`. That handle stores the core task's std
//! `Waker` and fires it from the tokio worker when the task ends; a coreline waker fired on
//! another thread hands the wake-up to its own core's inbox (a queue plus an eventfd the
//! ring always reads, as for [`sync`](crate::sync) channels), so the result wakes the right
//! core even while it waits in `io_uring_enter`, and the core runs its other tasks
//! meanwhile. Dropping the core's future aborts the tokio task.
//!
//! The other design, a tokio current-thread runtime per core whose reactor the core's ring
//! watches (`IORING_OP_POLL_ADD` on tokio's epoll fd), is not possible through tokio's
//! public API: the reactor's fd is private, and a tokio runtime is only driven by
//! `block_on`, which parks the thread in `epoll_wait` whenever no tokio task is ready, i.e.
//! it would block the core. The cost of the handoff is two cross-thread wake-ups per call
//! (the tokio worker's, then the core's); `bench/results/tokio-call-cost.md` measures it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinError;

/// A `Send + Sync` handle to a tokio runtime that runs futures for the cores; clone it into
/// each core's state (or handler). See the [module](self) documentation.
#[derive(Clone, Debug)]
pub struct TokioBridge {
    handle: Handle,
    /// The runtime this bridge started or was given, if it owns one: shut down (without
    /// waiting for its threads) when the last clone is dropped.
    _owned: Option<Arc<OwnedRuntime>>,
}

impl TokioBridge {
    /// Starts a tokio multi-thread runtime with one worker thread (`coreline-tokio`) and
    /// every driver tokio was compiled with (I/O, time), owned by the bridge.
    pub fn start() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("coreline-tokio")
            .enable_all()
            .build()?;
        Ok(Self::from_runtime(runtime))
    }

    /// A bridge owning `runtime` (built by the embedder with the settings they need). It
    /// is shut down, without waiting for its threads, when the last clone is dropped.
    pub fn from_runtime(runtime: Runtime) -> Self {
        TokioBridge {
            handle: runtime.handle().clone(),
            _owned: Some(Arc::new(OwnedRuntime(Some(runtime)))),
        }
    }

    /// A bridge to a runtime the embedder runs (and shuts down) themselves.
    pub fn from_handle(handle: Handle) -> Self {
        TokioBridge {
            handle,
            _owned: None,
        }
    }

    /// The tokio runtime's handle (to build clients that need its context, say).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `future` on the tokio runtime and gives its output to the awaiting task, which
    /// may be on a core (its core keeps running its other tasks meanwhile) or anywhere
    /// else. Dropping the returned future aborts the tokio task.
    ///
    /// # Panics
    /// The returned future resumes the panic of `future` if it panicked, and panics if the
    /// tokio runtime shut down before `future` finished. [`spawn`](Self::spawn) returns
    /// both as errors instead.
    pub fn run<F>(&self, future: F) -> TokioRun<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioRun(self.spawn(future))
    }

    /// Like [`run`](Self::run), with a panic or a shutdown of the tokio runtime as the
    /// `Err` of the output. Dropping the handle aborts the tokio task (unlike tokio's own
    /// `JoinHandle`, which detaches it).
    pub fn spawn<F>(&self, future: F) -> TokioJoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoinHandle(self.handle.spawn(future))
    }
}

/// The output of a task started with [`TokioBridge::spawn`]; aborts the task if dropped
/// before it finished. `Send`: await it on any core or thread.
#[derive(Debug)]
pub struct TokioJoinHandle<T>(tokio::task::JoinHandle<T>);

impl<T> TokioJoinHandle<T> {
    /// Aborts the tokio task now; awaiting then gives a cancelled [`JoinError`] (or the
    /// output, if the task had already finished).
    pub fn abort(&self) {
        self.0.abort();
    }
}

impl<T> Future for TokioJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for TokioJoinHandle<T> {
    fn drop(&mut self) {
        // A no-op once the task has finished.
        self.0.abort();
    }
}

/// The output of a future run with [`TokioBridge::run`]; aborts the tokio task if dropped
/// before it finished.
#[derive(Debug)]
pub struct TokioRun<T>(TokioJoinHandle<T>);

impl<T> Future for TokioRun<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(output)) => Poll::Ready(output),
            Poll::Ready(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Poll::Ready(Err(_)) => {
                panic!("coreline: the tokio runtime shut down before the task finished")
            }
        }
    }
}

/// A runtime a bridge owns. Dropped on whichever thread drops the last clone, maybe a
/// core: `shutdown_background` does not wait for the runtime's threads.
#[derive(Debug)]
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
