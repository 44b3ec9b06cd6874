//! The per-core executor for `!Send` futures: a slab of tasks and a FIFO of ready ones.
//!
//! Tasks are identified by slab index plus generation, like I/O slots, so a stale waker can
//! never poll a task that reused the index. A waker that fires on another thread hands the
//! wake-up to the owning core through its remote queue.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use crate::context;
use crate::remote::{Remote, RemoteMsg};

/// Names a task: slab index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskRef {
    index: u32,
    generation: u32,
}

struct Task {
    generation: u32,
    /// `None` while the task is being polled (so it may spawn or wake without a borrow).
    future: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// Lent to the poll like the future (so a poll costs no reference-count traffic).
    waker: Option<Waker>,
    scheduled: bool,
}

/// The task set and ready queue of one core.
pub(crate) struct Executor {
    tasks: RefCell<Slab<Task>>,
    ready: RefCell<VecDeque<TaskRef>>,
    next_generation: Cell<u32>,
    remote: Arc<Remote>,
}

/// The waker of one task. `Send + Sync` as `Waker` demands; it only carries ids.
struct TaskWaker {
    task: TaskRef,
    remote: Arc<Remote>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let local = context::try_with_core(|core| {
            if Arc::ptr_eq(&core.executor.remote, &self.remote) {
                core.executor.schedule(self.task);
                true
            } else {
                false
            }
        });
        if local != Some(true) {
            self.remote.push(RemoteMsg::Wake(self.task));
        }
    }
}

impl Executor {
    pub(crate) fn new(remote: Arc<Remote>) -> Self {
        Executor {
            tasks: RefCell::new(Slab::with_capacity(256)),
            ready: RefCell::new(VecDeque::with_capacity(256)),
            next_generation: Cell::new(0),
            remote,
        }
    }

    /// Adds a task and queues it for its first poll.
    pub(crate) fn spawn(&self, future: Pin<Box<dyn Future<Output = ()>>>) -> TaskRef {
        let generation = self.next_generation.get().wrapping_add(1);
        self.next_generation.set(generation);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let task = TaskRef {
            index: entry.key() as u32,
            generation,
        };
        let waker = Waker::from(Arc::new(TaskWaker {
            task,
            remote: self.remote.clone(),
        }));
        entry.insert(Task {
            generation,
            future: Some(future),
            waker: Some(waker),
            scheduled: true,
        });
        self.ready.borrow_mut().push_back(task);
        task
    }

    /// Queues a task for polling unless it is already queued or gone.
    pub(crate) fn schedule(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        if let Some(t) = tasks.get_mut(task.index as usize) {
            if t.generation == task.generation && !t.scheduled {
                t.scheduled = true;
                self.ready.borrow_mut().push_back(task);
            }
        }
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.borrow().is_empty()
    }

    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Polls the tasks that are ready now (not those woken meanwhile, which wait for the
    /// next round so I/O completions get reaped in between). Returns how many were polled.
    pub(crate) fn run_ready(&self) -> usize {
        let n = self.ready.borrow().len();
        for _ in 0..n {
            let Some(task) = self.ready.borrow_mut().pop_front() else {
                break;
            };
            self.poll_task(task);
        }
        n
    }

    fn poll_task(&self, task: TaskRef) {
        let (mut future, waker) = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(t) = tasks.get_mut(task.index as usize) else {
                return;
            };
            if t.generation != task.generation {
                return;
            }
            t.scheduled = false;
            match (t.future.take(), t.waker.take()) {
                (Some(f), Some(w)) => (f, w),
                (f, w) => {
                    (t.future, t.waker) = (f, w);
                    return;
                }
            }
        };
        let mut cx = Context::from_waker(&waker);
        let done = future.as_mut().poll(&mut cx).is_ready();
        if done {
            self.tasks.borrow_mut().remove(task.index as usize);
            drop(future); // outside the borrow: drops may touch the executor
        } else if let Some(t) = self.tasks.borrow_mut().get_mut(task.index as usize) {
            t.future = Some(future);
            t.waker = Some(waker);
        }
    }

    /// Drops every task (at core shutdown). Drops may spawn or wake; repeat until empty.
    pub(crate) fn drop_all(&self) {
        for _ in 0..16 {
            let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
            self.ready.borrow_mut().clear();
            if tasks.is_empty() {
                return;
            }
            drop(tasks);
        }
    }
}

/// Lets every other ready task run, and the ring be entered once, before continuing.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
