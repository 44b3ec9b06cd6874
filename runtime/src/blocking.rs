//! `spawn_blocking`: runs blocking closures (file system calls without a ring op, DNS,
//! CPU-heavy work, synchronous libraries) on a bounded thread pool shared by every core.
//!
//! Threads start only when a job finds none idle, never more than the configured bound
//! (further jobs queue), and exit after idling for the keep-alive time. A job's result
//! goes through a [`oneshot`](crate::sync::oneshot): the waiting task's waker, fired on a
//! pool thread, hands the wake-up to its core's inbox, so the core is woken even while
//! it waits in the ring.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::join::{panic_message, JoinError};
use crate::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The pool's settings, from the [`Builder`](crate::Builder).
#[derive(Debug, Clone)]
pub(crate) struct PoolSettings {
    /// Most threads alive at once.
    pub(crate) max_threads: usize,
    /// How long an idle thread waits for a job before it exits.
    pub(crate) keep_alive: Duration,
    /// Names the threads `PREFIX-blocking`.
    pub(crate) name: String,
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    /// Wake-ups sent to idle threads and not yet taken: jobs they will pick up.
    notified: usize,
}

/// The thread pool behind [`spawn_blocking`].
pub(crate) struct BlockingPool {
    state: Mutex<State>,
    work: Condvar,
    settings: PoolSettings,
}

impl BlockingPool {
    pub(crate) fn new(settings: PoolSettings) -> Self {
        BlockingPool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                notified: 0,
            }),
            work: Condvar::new(),
            settings,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Threads alive now (running a job or idle).
    pub(crate) fn threads(&self) -> usize {
        self.lock().threads
    }

    fn submit(self: &Arc<Self>, job: Job) {
        let mut state = self.lock();
        state.queue.push_back(job);
        if state.idle > state.notified {
            state.notified += 1;
            self.work.notify_one();
        } else if state.threads < self.settings.max_threads {
            state.threads += 1;
            drop(state);
            let pool = self.clone();
            let started = std::thread::Builder::new()
                .name(format!("{}-blocking", self.settings.name))
                .spawn(move || pool.work_loop());
            if started.is_err() {
                // The job waits for a running thread; with none at all it is dropped,
                // which its handle reports as aborted.
                let mut state = self.lock();
                state.threads -= 1;
                if state.threads == 0 {
                    state.queue.clear();
                }
            }
        }
    }

    fn work_loop(self: Arc<Self>) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job(); // never unwinds: the closure catches the job's panic
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, self.settings.keep_alive)
                .unwrap_or_else(|p| p.into_inner());
            state = next;
            state.idle -= 1;
            state.notified = state.notified.saturating_sub(1).min(state.idle);
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

/// Runs `f` on the runtime's blocking pool and gives its result back to the awaiting
/// task. The calling core keeps running its other tasks meanwhile.
///
/// # Panics
/// Outside a coreline runtime thread (use [`Handle::spawn_blocking`](crate::Handle)).
pub fn spawn_blocking<F, T>(f: F) -> BlockingJoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    crate::handle().spawn_blocking(f)
}

pub(crate) fn spawn_on<F, T>(pool: &Arc<BlockingPool>, f: F) -> BlockingJoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    pool.submit(Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(f))
            .map_err(|payload| JoinError::Panicked(panic_message(&*payload)));
        let _ = tx.send(result); // the handle may be gone: nobody wants the result
    }));
    BlockingJoinHandle(rx)
}

/// The result of a closure run by [`spawn_blocking`]: `Err(Panicked)` if it panicked,
/// `Err(Aborted)` if no thread could be started to run it. Dropping the handle does not
/// stop the closure. `Send`: await it on any core or thread.
#[derive(Debug)]
pub struct BlockingJoinHandle<T>(oneshot::Receiver<Result<T, JoinError>>);

impl<T> Future for BlockingJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(JoinError::Aborted)))
    }
}
