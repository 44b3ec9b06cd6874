//! Test plumbing: one test at a time, counting fds, running a future on core 0, a seeded
//! random number generator and test data patterns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use coreline_runtime::{Cores, Runtime};

/// fd counts and the process-wide heap figure are shared by all tests of this binary: run
/// them one at a time even when the harness uses several threads.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// One core, pinned to CPU 0, running `make()`'s future to completion.
pub(crate) fn on_core0<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send,
    Fut: Future + 'static,
    Fut::Output: Send,
{
    let rt = Runtime::builder()
        .cores(Cores::List(vec![0]))
        .build()
        .expect("runtime on CPU 0");
    match rt.block_on(make) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

pub(crate) fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// xorshift64*: deterministic, dependency-free, good enough to shuffle test cases.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }
    pub(crate) fn bit(&mut self) -> bool {
        self.next() & 1 == 1
    }
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

pub(crate) fn pattern(len: usize, salt: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(31).wrapping_add(salt) as u8)
        .collect()
}
