//! `Runtime`: one pinned thread, one ring and one executor per core.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crate::context::{self, Core};
use crate::driver::{Driver, RingFlags};
use crate::error::Error;
use crate::executor::{panic_message, spawn_on_executor, Executor, JoinError};
use crate::remote::{Handle, Remote, RemoteMsg};
use crate::sys;

/// Which CPUs get a core (a pinned thread with its own ring).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cores {
    /// Every CPU this process may run on.
    #[default]
    All,
    /// The first `n` CPUs this process may run on.
    Count(usize),
    /// Exactly these CPUs.
    List(Vec<usize>),
}

impl Cores {
    /// Parses `"all"` or a CPU list like `"0"`, `"0,1"` or `"0-3"`.
    /// Use [`Cores::Count`] directly for a count.
    pub fn parse_list(spec: &str) -> Result<Cores, Error> {
        if spec.trim() == "all" {
            return Ok(Cores::All);
        }
        let mut cpus = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || Error::Cores(format!("'{part}' in '{spec}' is not a CPU number or range"));
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (usize, usize) =
                        (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                    if a > b {
                        return Err(bad());
                    }
                    cpus.extend(a..=b);
                }
                None => cpus.push(part.parse().map_err(|_| bad())?),
            }
        }
        Ok(Cores::List(cpus))
    }

    fn resolve(&self) -> Result<Vec<usize>, Error> {
        let allowed = sys::allowed_cpus()?;
        let cpus = match self {
            Cores::All => allowed.clone(),
            Cores::Count(n) => {
                if *n == 0 || *n > allowed.len() {
                    return Err(Error::Cores(format!(
                        "asked for {n} cores but this process may use {} CPUs",
                        allowed.len()
                    )));
                }
                allowed[..*n].to_vec()
            }
            Cores::List(list) => list.clone(),
        };
        if cpus.is_empty() {
            return Err(Error::Cores("no CPUs selected".into()));
        }
        for (i, cpu) in cpus.iter().enumerate() {
            if !allowed.contains(cpu) {
                return Err(Error::Cores(format!(
                    "CPU {cpu} is not available to this process (allowed: {allowed:?})"
                )));
            }
            if cpus[..i].contains(cpu) {
                return Err(Error::Cores(format!("CPU {cpu} is listed twice")));
            }
        }
        Ok(cpus)
    }
}

/// Configures a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    cores: Cores,
    ring_entries: u32,
    flags: RingFlags,
    buf_count: u16,
    buf_size: u32,
    name: String,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            cores: Cores::All,
            ring_entries: 1024,
            flags: RingFlags {
                single_issuer: true,
                defer_taskrun: true,
                coop_taskrun: true,
                taskrun_flag: true,
            },
            buf_count: 1024,
            buf_size: 4096,
            name: "coreline".into(),
        }
    }
}

impl Builder {
    /// Which CPUs to run on (default: all this process may use).
    pub fn cores(mut self, cores: Cores) -> Self {
        self.cores = cores;
        self
    }

    /// Submission queue entries per ring (default 1024; the completion queue is 4×).
    pub fn ring_entries(mut self, entries: u32) -> Self {
        self.ring_entries = entries;
        self
    }

    /// The optional setup flags to try (default: all). The kernel may still refuse some;
    /// [`ring_info`](crate::ring_info) shows what each ring got.
    pub fn ring_flags(mut self, flags: RingFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Provided receive buffers per core: `count` (a power of two) of `size` bytes each
    /// (default 1024 × 4 KiB). Memory is touched only as buffers are used.
    pub fn recv_buffers(mut self, count: u16, size: u32) -> Self {
        self.buf_count = count;
        self.buf_size = size;
        self
    }

    /// Thread name prefix (default `coreline`); threads are named `PREFIX-INDEX`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Resolves the core list and checks the settings; no thread starts yet.
    pub fn build(self) -> Result<Runtime, Error> {
        let cpus = self.cores.resolve()?;
        if !self.buf_count.is_power_of_two() {
            return Err(Error::Cores(format!(
                "recv buffer count must be a power of two, got {}",
                self.buf_count
            )));
        }
        Ok(Runtime {
            builder: self,
            cpus,
        })
    }
}

/// A thread-per-core runtime, ready to [`run`](Runtime::run).
#[derive(Debug)]
pub struct Runtime {
    builder: Builder,
    cpus: Vec<usize>,
}

impl Runtime {
    /// Starts configuring a runtime.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The CPUs the cores will be pinned to, in core-index order.
    pub fn cpus(&self) -> &[usize] {
        &self.cpus
    }

    /// Starts one pinned thread per core, runs `entry(core)` on each as the core's main
    /// task, and returns every core's output (in core order) once all have finished.
    ///
    /// When a core's entry panics or its ring cannot be set up, every other core is
    /// stopped too, and the first such failure is returned.
    pub fn run<F, Fut>(self, entry: F) -> Result<Vec<Fut::Output>, Error>
    where
        F: Fn(context::CoreId) -> Fut + Sync,
        Fut: Future + 'static,
        Fut::Output: Send,
    {
        sys::ignore_sigpipe();
        let remotes: Vec<Arc<Remote>> = self
            .cpus
            .iter()
            .map(|_| Remote::new().map(Arc::new))
            .collect::<Result<_, _>>()?;
        let handle = Handle {
            remotes: remotes.into(),
            cpus: self.cpus.clone().into(),
        };
        let entry = &entry;
        let results: Vec<Result<Fut::Output, CoreFailure>> = std::thread::scope(|scope| {
            let threads: Vec<_> = self
                .cpus
                .iter()
                .enumerate()
                .map(|(index, &cpu)| {
                    let handle = handle.clone();
                    let builder = &self.builder;
                    std::thread::Builder::new()
                        .name(format!("{}-{index}", builder.name))
                        .spawn_scoped(scope, move || {
                            let out = run_core(builder, index, cpu, handle.clone(), entry);
                            // Nothing reads this core's inbox any more: drop queued and
                            // future messages (else spawn_on to it would hang forever).
                            handle.remotes[index].close();
                            if out.is_err() {
                                handle.stop_all();
                            }
                            out
                        })
                })
                .collect();
            threads
                .into_iter()
                .enumerate()
                .map(|(index, t)| match t {
                    Err(e) => {
                        handle.stop_all();
                        Err(CoreFailure::Error(Error::Io(e)))
                    }
                    Ok(t) => t.join().unwrap_or_else(|payload| {
                        Err(CoreFailure::Error(Error::CorePanicked {
                            core: index,
                            cpu: self.cpus[index],
                            message: panic_message(&*payload),
                        }))
                    }),
                })
                .collect()
        });
        let mut outputs = Vec::with_capacity(results.len());
        let mut first_error = None;
        let mut stopped = false;
        for r in results {
            match r {
                Ok(v) => outputs.push(v),
                Err(CoreFailure::Error(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(CoreFailure::Stopped) => stopped = true,
            }
        }
        match first_error {
            Some(e) => Err(e),
            None if stopped => Err(Error::Io(std::io::Error::other(
                "a core was stopped without an error (runtime bug)",
            ))),
            None => Ok(outputs),
        }
    }

    /// Runs one future on the first selected core and returns its output: a convenience
    /// for tests and tools. `make` builds the future on the core's thread, so the future
    /// itself need not be `Send`.
    pub fn block_on<F, Fut>(mut self, make: F) -> Result<Fut::Output, Error>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future + 'static,
        Fut::Output: Send,
    {
        self.cpus.truncate(1);
        let make = std::sync::Mutex::new(Some(make));
        let mut out = self.run(|_| {
            let make = make
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .expect("block_on runs on exactly one core");
            make()
        })?;
        Ok(out.remove(0))
    }
}

/// Why a core's thread ended without an output.
enum CoreFailure {
    /// It failed itself (setup error, panic).
    Error(Error),
    /// Another core failed and told it to stop.
    Stopped,
}

/// Body of one core's thread: pin, set up the ring, run the entry task to completion.
fn run_core<F, Fut>(
    builder: &Builder,
    index: usize,
    cpu: usize,
    handle: Handle,
    entry: &F,
) -> Result<Fut::Output, CoreFailure>
where
    F: Fn(context::CoreId) -> Fut,
    Fut: Future + 'static,
{
    sys::pin_current_thread(cpu).map_err(|e| {
        CoreFailure::Error(Error::Cores(format!("pinning to CPU {cpu} failed: {e}")))
    })?;
    let remote = handle.remotes[index].clone();
    let driver = Driver::new(
        builder.ring_entries,
        builder.flags,
        builder.buf_count,
        builder.buf_size,
        std::os::fd::AsRawFd::as_raw_fd(&remote.eventfd),
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
    });
    context::enter(core.clone());
    let id = context::CoreId { index, cpu };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let main = spawn_on_executor(&core.executor, entry(id));
        run_loop(&core, &main)?;
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
fn run_loop<T>(core: &Core, main: &crate::JoinHandle<T>) -> Result<(), CoreFailure> {
    loop {
        core.executor.run_ready();
        if main.is_finished() {
            return Ok(());
        }
        if core.stopping.get() {
            return Err(CoreFailure::Stopped);
        }
        let now = Instant::now();
        let due = core.timers.borrow_mut().expire(now);
        for w in due {
            w.wake();
        }
        let wait = !core.executor.has_ready();
        let timeout = core
            .timers
            .borrow()
            .next_deadline()
            .map(|d| d.saturating_duration_since(now));
        {
            let mut driver = core.driver.borrow_mut();
            driver.enter(wait, timeout).map_err(|e| {
                CoreFailure::Error(Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("io_uring_enter failed: {e}"),
                )))
            })?;
            driver.reap();
        }
        let woken = std::mem::take(&mut core.driver.borrow_mut().woken);
        if woken {
            handle_remote(core);
        }
    }
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
