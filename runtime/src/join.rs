//! Join handles: a task's output (or panic, or abort) delivered to whoever awaits it.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::context;
use crate::executor::{Executor, TaskRef};

/// Why a task produced no output.
#[derive(Debug)]
#[non_exhaustive]
pub enum JoinError {
    /// The task panicked; the message is the panic payload if it was a string.
    Panicked(String),
    /// The task was aborted with [`JoinHandle::abort`].
    Aborted,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(msg) => write!(f, "task panicked: {msg}"),
            JoinError::Aborted => f.write_str("task was aborted"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Turns a panic payload into its message.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

struct JoinState<T> {
    result: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
    aborted: bool,
}

/// Awaits a task spawned with [`spawn_local`](crate::spawn_local). Dropping it detaches the
/// task, which keeps running.
pub struct JoinHandle<T> {
    state: Rc<RefCell<JoinState<T>>>,
    task: TaskRef,
}

impl<T> JoinHandle<T> {
    /// Stops the task at its next scheduling point; awaiting then gives `JoinError::Aborted`.
    /// Dropping the task's future cancels its in-flight I/O like any other drop.
    pub fn abort(&self) {
        self.state.borrow_mut().aborted = true;
        context::with_core(|core| core.executor.schedule(self.task));
    }

    /// Whether the task has finished (with output, panic or abort).
    pub fn is_finished(&self) -> bool {
        self.state.borrow().result.is_some()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.state.borrow_mut();
        match state.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Wraps a task's future: catches its panics and delivers its output to the JoinHandle.
struct TaskBody<F: Future> {
    future: Option<Pin<Box<F>>>,
    state: Rc<RefCell<JoinState<F::Output>>>,
}

impl<F: Future> Future for TaskBody<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let result = if self.state.borrow().aborted {
            Err(JoinError::Aborted)
        } else {
            let Some(future) = self.future.as_mut() else {
                return Poll::Ready(());
            };
            match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(output)) => Ok(output),
                Err(payload) => Err(JoinError::Panicked(panic_message(&*payload))),
            }
        };
        self.future = None; // drop the future (and cancel its I/O) before reporting
        let waker = {
            let mut state = self.state.borrow_mut();
            state.result = Some(result);
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Poll::Ready(())
    }
}

/// Spawns a `!Send` future on the current core.
pub(crate) fn spawn_on_executor<F>(executor: &Executor, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let state = Rc::new(RefCell::new(JoinState {
        result: None,
        waker: None,
        aborted: false,
    }));
    let body = TaskBody {
        future: Some(Box::pin(future)),
        state: state.clone(),
    };
    let task = executor.spawn(Box::pin(body));
    JoinHandle { state, task }
}
