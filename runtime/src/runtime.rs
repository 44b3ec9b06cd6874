//! `Runtime`: one pinned thread, one ring and one executor per core.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::blocking::{BlockingPool, PoolSettings};

use crate::buf_ring::BufRingMode;
use crate::context;
use crate::core_loop::{run_core, CoreFailure, CoreSettings};
use crate::cores::Cores;
use crate::driver::RingFlags;
use crate::error::Error;
use crate::join::panic_message;
use crate::remote::{Handle, Remote};
use crate::{rx_stamp, sys};

/// Configures a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    cores: Cores,
    core: CoreSettings,
    name: String,
    blocking_threads: usize,
    blocking_keep_alive: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            cores: Cores::All,
            core: CoreSettings {
                ring_entries: 1024,
                flags: RingFlags {
                    single_issuer: true,
                    defer_taskrun: true,
                    coop_taskrun: true,
                    taskrun_flag: true,
                    no_sqarray: true,
                },
                buf_count: 1024,
                buf_size: 4096,
                buf_mode: BufRingMode::default(),
                metrics: true,
                rx_timestamps: false,
                fixed_files: 0,
                busy_poll: Duration::ZERO,
            },
            name: "coreline".into(),
            blocking_threads: 16,
            blocking_keep_alive: Duration::from_secs(10),
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
        self.core.ring_entries = entries;
        self
    }

    /// The optional setup flags to try (default: all). The kernel may still refuse some;
    /// [`ring_info`](crate::ring_info) shows what each ring got.
    pub fn ring_flags(mut self, flags: RingFlags) -> Self {
        self.core.flags = flags;
        self
    }

    /// Provided receive buffers per core: `count` (a power of two) of `size` bytes each
    /// (default 1024 × 4 KiB). Memory is touched only as buffers are used.
    pub fn recv_buffers(mut self, count: u16, size: u32) -> Self {
        self.core.buf_count = count;
        self.core.buf_size = size;
        self
    }

    /// Receive bundles (`IORING_RECVSEND_BUNDLE`, default off): one multishot-receive
    /// completion may fill several provided buffers. A chunk larger than one buffer is
    /// then copied to the heap at the reap (a [`RecvBuf`](crate::RecvBuf) is one slice);
    /// chunks of one buffer are unchanged. Used where the kernel has them (Linux 6.10),
    /// without receive timestamps and without
    /// [`incremental_recv_buffers`](Self::incremental_recv_buffers);
    /// [`ring_info`](crate::ring_info) shows it as `recv_bundles`.
    pub fn recv_bundles(mut self, on: bool) -> Self {
        self.core.buf_mode.bundles = on;
        self
    }

    /// Incremental provided-buffer consumption (`IOU_PBUF_RING_INC`, default off): the
    /// kernel fills each receive buffer piece by piece across receives, so a small chunk
    /// uses its length of a buffer instead of a whole one; a buffer returns to the ring
    /// when the kernel has filled it and every chunk in it is dropped. Used where the
    /// kernel has it (Linux 6.12); [`ring_info`](crate::ring_info) shows it as
    /// `incremental_buffers`.
    pub fn incremental_recv_buffers(mut self, on: bool) -> Self {
        self.core.buf_mode.incremental = on;
        self
    }

    /// Whether each core records its loop metrics (default on; see [`crate::metrics`]).
    /// Off, the core loop records nothing (and reads no extra clock after blocking enters).
    pub fn metrics(mut self, on: bool) -> Self {
        self.core.metrics = on;
        self
    }

    /// Kernel receive timestamps (default off): sockets receive with a multishot recvmsg
    /// that brings each chunk's `SO_TIMESTAMPING` software stamp, and each core records
    /// how long received data waited between the kernel's receive and the reap of its
    /// completion ([`LoopHistograms::rx_kernel_to_reap_us`](crate::metrics::LoopHistograms)).
    /// Needs [`metrics`](Self::metrics) on (without them it does nothing). Costs a
    /// `setsockopt` per listener (accepted sockets inherit it; connected ones pay their
    /// own), a realtime clock read per loop iteration, 80 bytes of each receive buffer,
    /// and the kernel's timestamping of every received packet.
    pub fn rx_timestamps(mut self, on: bool) -> Self {
        self.core.rx_timestamps = on;
        self
    }

    /// A table of `slots` direct (registered) descriptors per ring (default 0: none), for
    /// [`FixedListener`](crate::net::FixedListener): size it from the connection limit of
    /// one core (plus its listeners). A kernel that refuses the table leaves it at 0, which
    /// [`ring_info`](crate::ring_info) shows as `fixed_files`.
    pub fn fixed_files(mut self, slots: u32) -> Self {
        self.core.fixed_files = slots;
        self
    }

    /// How long an idle core keeps polling its completion queue before it sleeps in
    /// `io_uring_enter` (default zero: it sleeps at once). While it polls, a competing
    /// task on the same CPU cannot take the core, so completions that arrive within the
    /// window are handled without a wake-up; the price is that window's CPU time each
    /// time the core runs out of work (an idle core with traffic trickling in spends up to
    /// the whole window per arrival). Capped by the next timer's deadline.
    pub fn busy_poll(mut self, window: Duration) -> Self {
        self.core.busy_poll = window;
        self
    }

    /// Thread name prefix (default `coreline`); threads are named `PREFIX-INDEX`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Most threads the [`spawn_blocking`](crate::spawn_blocking) pool runs at once
    /// (default 16; at least 1). Threads start only when a job finds none idle; jobs
    /// beyond the bound wait in a queue.
    pub fn blocking_threads(mut self, max: usize) -> Self {
        self.blocking_threads = max.max(1);
        self
    }

    /// How long an idle blocking-pool thread waits for another job before it exits
    /// (default 10 s).
    pub fn blocking_keep_alive(mut self, idle: Duration) -> Self {
        self.blocking_keep_alive = idle;
        self
    }

    /// Resolves the core list and checks the settings; no thread starts yet.
    pub fn build(self) -> Result<Runtime, Error> {
        let cpus = self.cores.resolve()?;
        let core = &self.core;
        if !core.buf_count.is_power_of_two() {
            return Err(Error::Config(format!(
                "recv buffer count must be a power of two, got {}",
                core.buf_count
            )));
        }
        if core.rx_timestamps && core.buf_size as usize <= rx_stamp::PAYLOAD_OFFSET {
            return Err(Error::Config(format!(
                "recv buffers of {} bytes leave no room for data next to receive timestamps \
                 (use more than {} bytes)",
                core.buf_size,
                rx_stamp::PAYLOAD_OFFSET
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
            blocking: Arc::new(BlockingPool::new(PoolSettings {
                max_threads: self.builder.blocking_threads,
                keep_alive: self.builder.blocking_keep_alive,
                name: self.builder.name.clone(),
            })),
        };
        let entry = &entry;
        let results: Vec<Result<Fut::Output, CoreFailure>> = std::thread::scope(|scope| {
            let threads: Vec<_> = self
                .cpus
                .iter()
                .enumerate()
                .map(|(index, &cpu)| {
                    let handle = handle.clone();
                    let settings = &self.builder.core;
                    std::thread::Builder::new()
                        .name(format!("{}-{index}", self.builder.name))
                        .spawn_scoped(scope, move || {
                            let out = run_core(settings, index, cpu, handle.clone(), entry);
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
