//! The life of one core's thread: pin, set up the ring, run the entry task through the
//! loop (ready tasks, due timers, one `io_uring_enter`, dispatch), then tear down.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::buf_ring::BufRingMode;
use crate::context::{self, Core};
use crate::driver::{Driver, RecvBuffers, RingFlags};
use crate::error::Error;
use crate::executor::Executor;
use crate::join::{panic_message, spawn_on_executor, JoinError};
use crate::metrics::CoreMetrics;
use crate::remote::{Handle, RemoteMsg};
use crate::{rx_stamp, sys};

/// What each core's thread is set up with: the per-core part of the
/// [`Builder`](crate::Builder)'s settings, already checked by `Builder::build`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoreSettings {
    /// Submission queue entries of the core's ring.
    pub(crate) ring_entries: u32,
    /// The optional ring setup flags to try.
    pub(crate) flags: RingFlags,
    /// Provided receive buffers in the core's buffer ring (a power of two).
    pub(crate) buf_count: u16,
    /// Size of each provided receive buffer, in bytes.
    pub(crate) buf_size: u32,
    /// Incremental consumption and receive bundles, as asked for.
    pub(crate) buf_mode: BufRingMode,
    /// Whether the core loop records its metrics.
    pub(crate) metrics: bool,
    /// Whether receives bring kernel timestamps (effective only with `metrics`).
    pub(crate) rx_timestamps: bool,
    /// Slots of the ring's direct-descriptor table (0: no table).
    pub(crate) fixed_files: u32,
    /// How long an idle core polls for completions before it sleeps (zero: not at all).
    pub(crate) busy_poll: Duration,
}

/// Why a core's thread ended without an output.
pub(crate) enum CoreFailure {
    /// It failed itself (setup error, panic).
    Error(Error),
    /// Another core failed and told it to stop.
    Stopped,
}

/// Body of one core's thread: pin, set up the ring, run the entry task to completion.
pub(crate) fn run_core<F, Fut>(
    settings: &CoreSettings,
    index: usize,
    cpu: usize,
    handle: Handle,
    entry: &F,
) -> Result<Fut::Output, CoreFailure>
where
    F: Fn(context::CoreId) -> Fut,
    Fut: Future + 'static,
{
    sys::pin_current_thread(cpu)
        .map_err(|source| CoreFailure::Error(Error::Pin { cpu, source }))?;
    let remote = handle.remotes[index].clone();
    let rx_msg = (settings.metrics && settings.rx_timestamps).then(rx_stamp::msg_template);
    let driver = Driver::new(
        settings.ring_entries,
        settings.flags,
        RecvBuffers {
            count: settings.buf_count,
            size: settings.buf_size,
            mode: settings.buf_mode,
        },
        settings.fixed_files,
        std::os::fd::AsRawFd::as_raw_fd(&remote.eventfd),
        rx_msg,
    )
    .map_err(CoreFailure::Error)?;
    let core = Rc::new(Core {
        driver: std::cell::RefCell::new(driver),
        executor: Executor::new(remote.clone()),
        timers: Default::default(),
        remote,
        index,
        cpu,
        handle,
        stopping: std::cell::Cell::new(false),
        metrics: std::cell::RefCell::new(CoreMetrics::new(
            settings.metrics,
            settings.rx_timestamps,
        )),
    });
    context::enter(core.clone());
    let id = context::CoreId { index, cpu };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let main = spawn_on_executor(&core.executor, entry(id));
        run_loop(&core, &main, settings.busy_poll)?;
        Ok(main)
    }));
    teardown(&core);
    drop(context::leave());
    let failure = |message: String| {
        CoreFailure::Error(Error::CorePanicked {
            core: index,
            cpu,
            message,
        })
    };
    match result {
        Err(payload) => Err(failure(panic_message(&*payload))),
        Ok(Err(e)) => Err(e),
        Ok(Ok(mut main)) => match poll_now(&mut main) {
            Some(Ok(v)) => Ok(v),
            Some(Err(JoinError::Panicked(m))) => Err(failure(m)),
            Some(Err(JoinError::Aborted)) | None => Err(CoreFailure::Stopped),
        },
    }
}

/// The core loop: run ready tasks, fire due timers, one `io_uring_enter`, dispatch.
fn run_loop<T>(
    core: &Core,
    main: &crate::JoinHandle<T>,
    busy_poll: Duration,
) -> Result<(), CoreFailure> {
    loop {
        core.executor.run_ready();
        // Every task woken by the last reap has run: what they left unread goes.
        core.driver.borrow_mut().evict_unread();
        if main.is_finished() {
            return Ok(());
        }
        if core.stopping.get() {
            return Err(CoreFailure::Stopped);
        }
        let now = Instant::now();
        core.metrics.borrow_mut().on_loop(now);
        let due = core.timers.borrow_mut().expire(now);
        for w in due {
            w.wake();
        }
        let mut wait = !core.executor.has_ready();
        let next_deadline = core.timers.borrow().next_deadline();
        let timeout = next_deadline.map(|d| d.saturating_duration_since(now));
        {
            let mut driver = core.driver.borrow_mut();
            if wait && !busy_poll.is_zero() {
                let until = now + busy_poll;
                let until = next_deadline.map_or(until, |d| d.min(until));
                // Something arrived while polling: reap it without sleeping.
                wait = !driver.poll_until(until).map_err(enter_failed)?;
            }
            driver.enter(wait, timeout).map_err(enter_failed)?;
            // The clock first: the reap stamps each completion with it.
            core.metrics.borrow_mut().on_enter(wait);
            let reaped = driver.reap();
            core.metrics.borrow_mut().on_reaped(reaped);
        }
        let woken = std::mem::take(&mut core.driver.borrow_mut().woken);
        if woken {
            handle_remote(core);
        }
    }
}

fn enter_failed(e: std::io::Error) -> CoreFailure {
    CoreFailure::Error(Error::Io(std::io::Error::new(
        e.kind(),
        format!("io_uring_enter failed: {e}"),
    )))
}

fn handle_remote(core: &Core) {
    for msg in core.remote.take() {
        match msg {
            RemoteMsg::Wake(task) => core.executor.schedule(task),
            RemoteMsg::Run(job) => job(),
            RemoteMsg::Stop => core.stopping.set(true),
        }
    }
}

/// Drops every task (cancelling their I/O), then waits for the kernel to release it all.
fn teardown(core: &Core) {
    core.executor.drop_all();
    core.timers.borrow_mut().clear();
    core.driver.borrow_mut().drain();
}

/// Polls a finished JoinHandle once, without a runtime.
fn poll_now<T>(handle: &mut crate::JoinHandle<T>) -> Option<Result<T, JoinError>> {
    // Not `Waker::noop()`: that needs Rust 1.85 and the MSRV is 1.80.
    struct NoopWake;
    impl std::task::Wake for NoopWake {
        fn wake(self: Arc<Self>) {}
    }
    let waker = std::task::Waker::from(Arc::new(NoopWake));
    let mut cx = std::task::Context::from_waker(&waker);
    match std::pin::Pin::new(handle).poll(&mut cx) {
        std::task::Poll::Ready(r) => Some(r),
        std::task::Poll::Pending => None,
    }
}
