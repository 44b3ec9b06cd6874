//! Helpers shared by the integration tests (each test file includes this with `mod common;`
//! and uses only some of it).
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Raises the soft (and, if needed and allowed, the hard) `RLIMIT_NOFILE` to at least
/// `want`. Panics with an explanation if the process may not have that many fds.
pub fn raise_nofile(want: u64) -> u64 {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit(RLIMIT_NOFILE)");
    if soft >= want {
        return soft;
    }
    // Raising the hard limit needs CAP_SYS_RESOURCE (root in CI); otherwise go as far as
    // the hard limit allows.
    let new_hard = hard.max(want);
    if setrlimit(Resource::RLIMIT_NOFILE, want, new_hard).is_ok() {
        return want;
    }
    if hard >= want && setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok() {
        return want;
    }
    panic!(
        "this test needs {want} open files but RLIMIT_NOFILE is {soft} (hard {hard}) and \
         cannot be raised: run as root or raise `ulimit -n`"
    );
}

/// A localhost port that was free a moment ago (bound to :0, read back, released), for
/// tests that need every core's SO_REUSEPORT listener on one fixed port.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// Resident set size of this process in bytes (`VmRSS` of /proc/self/status).
pub fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line in /proc/self/status");
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

/// Kills the whole test process if it is still alive after `limit`, so a hang in the
/// runtime fails CI instead of stalling it. Dropping the guard disarms it.
pub struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

pub fn watchdog(limit: Duration, what: &'static str) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: '{what}' still running after {limit:?}; aborting the test");
                std::process::exit(101);
            }
        })
        .expect("spawn watchdog thread");
    Watchdog { _disarm: tx }
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to completion on the calling (non-runtime) thread, e.g. to await a
/// `RemoteJoinHandle` from the test thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Polls `cond` every millisecond until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Marker for panics a test provokes on purpose; [`quiet_expected_panics`] hides them.
pub const EXPECTED_PANIC: &str = "(expected panic)";

/// Installs (once) a panic hook that stays silent for panics whose message contains
/// [`EXPECTED_PANIC`] and reports every other panic as usual.
pub fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !msg.contains(EXPECTED_PANIC) {
                default(info);
            }
        }));
    });
}

/// A task on the current core that counts 2 ms timer ticks, to show the core kept running
/// while other work waited: a blocked core counts too few. Stops when dropped.
pub struct Ticker {
    ticks: std::rc::Rc<std::cell::Cell<u32>>,
    task: coreline_runtime::JoinHandle<()>,
}

impl Ticker {
    /// Starts counting (call on a core).
    pub fn start() -> Self {
        let ticks = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let counted = ticks.clone();
        let task = coreline_runtime::spawn_local(async move {
            loop {
                coreline_runtime::time::sleep(Duration::from_millis(2)).await;
                counted.set(counted.get() + 1);
            }
        });
        Self { ticks, task }
    }

    /// Ticks so far.
    pub fn count(&self) -> u32 {
        self.ticks.get()
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.task.abort();
    }
}
