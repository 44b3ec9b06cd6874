//! Cross-core messages: a mutex-guarded queue per core plus an eventfd that the core's
//! ring always has a read pending on, so a message wakes a core blocked in io_uring_enter.

use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::blocking::{BlockingJoinHandle, BlockingPool};
use crate::executor::TaskRef;
use crate::sys;

/// A job for another core: runs there, on its thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

pub(crate) enum RemoteMsg {
    /// Wake a task of this core (its waker fired on another thread).
    Wake(TaskRef),
    /// Run a closure on this core (typically: spawn a task).
    Run(Job),
    /// Stop this core's loop (another core failed).
    Stop,
}

/// The inbox of one core.
pub(crate) struct Remote {
    queue: Mutex<Vec<RemoteMsg>>,
    pub(crate) eventfd: OwnedFd,
    signalled: AtomicBool,
    /// Set (under the queue lock) once the core's thread has stopped for good: later
    /// messages are dropped at once instead of queueing forever, so a `spawn_on` aimed at a
    /// finished core resolves to `None` rather than hanging.
    closed: AtomicBool,
}

impl Remote {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Remote {
            queue: Mutex::new(Vec::new()),
            eventfd: sys::eventfd()?,
            signalled: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    /// Queues a message and makes sure the core wakes to read it.
    pub(crate) fn push(&self, msg: RemoteMsg) {
        {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            if self.closed.load(Ordering::SeqCst) {
                drop(queue);
                drop(msg); // outside the lock: dropping a job wakes its RemoteJoinHandle
                return;
            }
            queue.push(msg);
        }
        if !self.signalled.swap(true, Ordering::SeqCst) {
            sys::eventfd_signal(&self.eventfd);
        }
    }

    /// Takes every queued message. Clears the signal first, so a message pushed after the
    /// take signals the eventfd again and cannot be missed.
    pub(crate) fn take(&self) -> Vec<RemoteMsg> {
        self.signalled.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Called once the core's thread will never read its inbox again: drops what is
    /// queued (jobs that will never run, so their `RemoteJoinHandle`s resolve to `None`)
    /// and makes later `push`es drop their message.
    pub(crate) fn close(&self) {
        let pending = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            self.closed.store(true, Ordering::SeqCst);
            std::mem::take(&mut *queue)
        };
        drop(pending); // outside the lock: drops may push to this or another core
    }
}

/// A `Send` handle to all cores of a running runtime: send work from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(crate) remotes: Arc<[Arc<Remote>]>,
    pub(crate) cpus: Arc<[usize]>,
    pub(crate) blocking: Arc<BlockingPool>,
}

impl Handle {
    /// Number of cores in the runtime.
    pub fn cores(&self) -> usize {
        self.remotes.len()
    }

    /// The CPU core `index` is pinned to.
    pub fn cpu_of(&self, index: usize) -> usize {
        self.cpus[index]
    }

    /// Runs `make` on core `index` and spawns the (possibly `!Send`) future it returns
    /// there. The returned [`RemoteJoinHandle`] gives its output back to any thread.
    ///
    /// # Panics
    /// If `index` is not a core of this runtime.
    pub fn spawn_on<F, Fut>(&self, index: usize, make: F) -> RemoteJoinHandle<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let shared = Arc::new(Mutex::new(Shared {
            value: None,
            waker: None,
            closed: false,
        }));
        let sender = Sender(shared.clone());
        let job: Job = Box::new(move || {
            crate::spawn_local(async move {
                let output = make().await;
                sender.send(output);
            });
        });
        self.remotes[index].push(RemoteMsg::Run(job));
        RemoteJoinHandle(shared)
    }

    /// Runs `f` on the runtime's blocking thread pool; see
    /// [`spawn_blocking`](crate::spawn_blocking). Callable from any thread.
    pub fn spawn_blocking<F, T>(&self, f: F) -> BlockingJoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::blocking::spawn_on(&self.blocking, f)
    }

    /// Threads of the blocking pool alive now (busy or idle), at most the
    /// [`Builder::blocking_threads`](crate::Builder::blocking_threads) bound.
    pub fn blocking_threads(&self) -> usize {
        self.blocking.threads()
    }

    pub(crate) fn stop_all(&self) {
        for r in self.remotes.iter() {
            r.push(RemoteMsg::Stop);
        }
    }
}

struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
    closed: bool,
}

/// Sends the output of a cross-core task; if dropped unsent, the receiver sees `None`.
struct Sender<T>(Arc<Mutex<Shared<T>>>);

impl<T> Sender<T> {
    fn send(self, value: T) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).value = Some(value);
        // Drop runs next and wakes the receiver.
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
            s.closed = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The output of a task started with [`Handle::spawn_on`]. Resolves to `None` if the task
/// was dropped (or panicked) before finishing.
pub struct RemoteJoinHandle<T>(Arc<Mutex<Shared<T>>>);

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
