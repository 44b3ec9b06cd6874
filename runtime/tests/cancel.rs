//! Cancellation safety: every operation's future is dropped before submission, while in
//! flight and after its completion was reaped (but never observed), in random order, and
//! afterwards the process holds the same fds, every provided buffer is back in its ring, no
//! operation is left in the ring and the heap has not grown (a counting global allocator).
//!
//! Focused tests below the stress run pin down the individual guarantees: an accepted but
//! never observed connection is closed, a buffer abandoned in flight stays alive until the
//! kernel is done with it, and dropping a runtime with operations in flight returns promptly
//! and frees everything.
//!
//! Knobs: `CORELINE_CANCEL_ITERS` (default 100000), `CORELINE_CANCEL_SEED`, and
//! `CORELINE_CANCEL_TRACE` (print every iteration, to find the case that hangs or leaks).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs::File;
use std::future::{poll_fn, Future};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use coreline_runtime::buf::{IoBuf, IoBufMut};
use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{
    buf_ring_stats, core_stats, fs, ops, spawn_local, time, yield_now, Cores, Runtime, SharedFd,
};
use nix::errno::Errno;
use nix::sys::socket::{self as nixsock, MsgFlags};

// ---------------------------------------------------------------------------------------
// Counting allocator
// ---------------------------------------------------------------------------------------

/// Wraps the system allocator and counts live bytes, per process and per thread.
///
/// The stress test measures on the core thread only (`THREAD_LIVE`), so whatever the test
/// harness's own threads allocate meanwhile cannot blur the result; the runtime-teardown
/// test needs the process-wide figure because the core thread is gone when it measures.
struct Counting;

static PROCESS_LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    // `const`-initialised and without a destructor: touching it never allocates, so the
    // allocator may use it.
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    PROCESS_LIVE.fetch_add(delta, Ordering::Relaxed);
    let _ = THREAD_LIVE.try_with(|c| c.set(c.get() + delta));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// adds bookkeeping that neither allocates nor touches the returned memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` come from `System` (through us); the caller guarantees
        // `new_size` is valid for `layout`'s alignment.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn thread_live() -> isize {
    THREAD_LIVE.with(Cell::get)
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

/// fd counts and the process-wide heap figure are shared by all tests of this binary: run
/// them one at a time even when the harness uses several threads.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// One core, pinned to CPU 0, running `make()`'s future to completion.
fn on_core0<F, Fut>(make: F) -> Fut::Output
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

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// xorshift64*: deterministic, dependency-free, good enough to shuffle test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }
    fn bit(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Bytes readable without blocking on a socket or pipe.
fn fionread(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points at a live local.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n as *mut libc::c_int) };
    assert_eq!(r, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    n as usize
}

/// Sets a socket buffer size option (which also turns off the kernel's autotuning of it).
fn set_sock_buf(fd: RawFd, option: libc::c_int, bytes: libc::c_int) {
    // SAFETY: we pass a pointer to a live int and its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            &bytes as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

/// Sends from `fd` without blocking until the socket takes no more: a send issued next
/// really waits in the kernel.
fn fill_socket(fd: RawFd) {
    let chunk = [0x5a_u8; 16 * 1024];
    loop {
        match nixsock::send(fd, &chunk, MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL) {
            Ok(_) => {}
            Err(Errno::EAGAIN) => return,
            Err(e) => panic!("filling a socket: {e}"),
        }
    }
}

/// Receives and discards what is queued on `fd` without blocking; returns the byte count.
fn drain_socket(fd: RawFd) -> usize {
    let mut buf = [0_u8; 16 * 1024];
    let mut total = 0;
    loop {
        match nixsock::recv(fd, &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(Errno::EAGAIN) => return total,
            Err(e) => panic!("draining a socket: {e}"),
        }
    }
}

/// Reads exactly what a pipe holds right now (never blocks).
fn drain_pipe(reader: &mut File) -> usize {
    let n = fionread(reader.as_raw_fd());
    let mut buf = vec![0_u8; n];
    reader.read_exact(&mut buf).expect("draining a pipe");
    n
}

fn pattern(len: usize, salt: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(31).wrapping_add(salt) as u8)
        .collect()
}

/// A pipe as (read end, write end).
fn pipe_pair() -> (SharedFd, SharedFd) {
    ops::pipe().expect("pipe")
}

/// A fresh, unshared pipe end as a plain blocking `File` for the test's own I/O.
fn into_file(fd: SharedFd) -> File {
    File::from(fd.try_unwrap().expect("fresh pipe end is not shared"))
}

/// A fresh pipe end for the runtime's ops plus a duplicate (same open file description)
/// for the test's own blocking I/O.
fn with_dup(fd: SharedFd) -> (SharedFd, File) {
    let file = into_file(fd);
    let dup = file.try_clone().expect("dup");
    (SharedFd::new(OwnedFd::from(file)), dup)
}

/// A coreline stream connected to a plain blocking std peer.
async fn stream_pair(listener: &StdListener) -> (TcpStream, StdStream) {
    let stream = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .expect("connect");
    let (peer, _) = listener.accept().expect("accept");
    (stream, peer)
}

// ---------------------------------------------------------------------------------------
// Polling by hand
// ---------------------------------------------------------------------------------------

/// A waker that records that it fired and passes the wake-up on to the task waiting in
/// [`Probe::fired`]. Polling an op with it tells us exactly when the driver has reaped the
/// op's completion, without observing the completion itself.
#[derive(Default)]
struct Probe {
    fired: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::SeqCst);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = task {
            w.wake();
        }
    }
}

impl Probe {
    fn has_fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Resolves once the probe fired.
    fn fired(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.has_fired() {
                return Poll::Ready(());
            }
            *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            if self.has_fired() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A waker that does nothing (`Waker::noop` is newer than the workspace's MSRV).
struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// Polls once with a waker that does nothing: a lazily submitted op gets its SQE queued.
fn poll_noop<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWaker));
    fut.poll(&mut Context::from_waker(&waker))
}

/// Polls once with a fresh probe; `None` if the future finished on that poll.
fn poll_probe<F: Future + ?Sized>(fut: Pin<&mut F>) -> Option<Arc<Probe>> {
    let probe = Arc::new(Probe::default());
    let waker = Waker::from(probe.clone());
    match fut.poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(_) => None,
        Poll::Pending => Some(probe),
    }
}

/// Lets the core run (submit, reap) until the probe fired, calling `pump` between waits
/// (e.g. to drain a peer so a blocked send can finish). Blocks in the ring between checks,
/// so io-wq workers on the same CPU get to run.
async fn wait_fired(probe: &Probe, what: &str, mut pump: impl FnMut()) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        pump();
        if probe.has_fired() {
            return;
        }
        let _ = time::timeout(Duration::from_millis(1), probe.fired()).await;
        assert!(
            Instant::now() < deadline,
            "{what}: completion never arrived (ops in flight: {})",
            core_stats().ops_in_flight
        );
    }
}

/// Waits until the ring holds at most `target` operations (cancelled ones have delivered
/// their final completion and their buffers are freed).
async fn settle(target: usize) {
    settle_with(target, || {}).await;
}

/// [`settle`], calling `pump` between waits (e.g. draining a peer so that a zero-copy
/// send's notification, which waits for the data to leave the socket, can arrive).
async fn settle_with(target: usize, mut pump: impl FnMut()) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rounds = 0;
    while core_stats().ops_in_flight > target {
        pump();
        assert!(
            Instant::now() < deadline,
            "{} operations still in flight after 10 s (expected {target})",
            core_stats().ops_in_flight
        );
        if rounds < 2 {
            yield_now().await;
        } else {
            // Block in the ring: cancelled io-wq work finishes only when its worker runs,
            // and it shares CPU 0 with us.
            time::sleep(Duration::from_micros(50)).await;
        }
        rounds += 1;
    }
}

/// Where an operation's future is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// Created, never polled: nothing may have been submitted.
    BeforeSubmit,
    /// Polled once (SQE queued). With `kernel_has_it`, the core also entered the ring once,
    /// so the kernel holds the op when the future goes.
    InFlight { kernel_has_it: bool },
    /// Polled once, made to complete, completion reaped by the driver, never polled again.
    AfterCompletion,
}

/// Runs `fut` to the drop point `at` and drops it. `trigger` makes the op complete (used at
/// `AfterCompletion` only, after the first poll); `pump` is called while waiting for it.
/// Returns whether `AfterCompletion` really waited for a reaped completion (false if the
/// future finished on its first poll).
async fn exercise<F: Future>(
    fut: F,
    at: At,
    what: &str,
    trigger: impl FnOnce(),
    pump: impl FnMut(),
) -> bool {
    let mut fut = Box::pin(fut);
    let mut reaped = false;
    match at {
        At::BeforeSubmit => {}
        At::InFlight { kernel_has_it } => {
            let _ = poll_noop(fut.as_mut());
            if kernel_has_it {
                yield_now().await;
            }
        }
        At::AfterCompletion => {
            if let Some(probe) = poll_probe(fut.as_mut()) {
                trigger();
                wait_fired(&probe, what, pump).await;
                reaped = true;
            }
        }
    }
    drop(fut);
    reaped
}

/// [`exercise`] for ops that complete by themselves.
async fn exercise_plain<F: Future>(fut: F, at: At, what: &str) {
    let reaped = exercise(fut, at, what, || {}, || {}).await;
    assert!(
        reaped || at != At::AfterCompletion,
        "{what}: finished on its first poll, so it was never dropped after completion"
    );
}

// ---------------------------------------------------------------------------------------
// The stress run
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Accept,
    Connect,
    Recv,
    ReadSocket,
    ReadPipe,
    ReadFile,
    WritePipe,
    WriteFile,
    Send,
    SendVectored,
    SendZc,
    SplicePipe,
    SpliceFile,
    OpenAt,
    FileOpen,
    Statx,
    StatxFd,
    Close,
    Shutdown,
    Timeout,
    Sleep,
}

const KINDS: [Kind; 21] = [
    Kind::Accept,
    Kind::Connect,
    Kind::Recv,
    Kind::ReadSocket,
    Kind::ReadPipe,
    Kind::ReadFile,
    Kind::WritePipe,
    Kind::WriteFile,
    Kind::Send,
    Kind::SendVectored,
    Kind::SendZc,
    Kind::SplicePipe,
    Kind::SpliceFile,
    Kind::OpenAt,
    Kind::FileOpen,
    Kind::Statx,
    Kind::StatxFd,
    Kind::Close,
    Kind::Shutdown,
    Kind::Timeout,
    Kind::Sleep,
];

/// Pipe capacity on Linux by default (16 pages).
const PIPE_CAPACITY: usize = 64 * 1024;
/// Size of the scratch file.
const FILE_LEN: usize = 4096;

/// Everything the operations act on, created once per run.
struct Fixtures {
    /// Multishot accept target; its accept op is always armed.
    listener: TcpListener,
    /// Connect target; a plain non-blocking listener that the test drains.
    sink: StdListener,
    /// Makes stream pairs.
    pairs: StdListener,
    /// Multishot recv (always armed) and its peer.
    rx: TcpStream,
    rx_peer: StdStream,
    /// Single-shot `TcpStream::read` and its peer.
    rd: TcpStream,
    rd_peer: StdStream,
    /// Sends, with a small send buffer so that filling the socket is cheap and makes the
    /// next send wait; non-blocking peer that the test drains.
    tx: TcpStream,
    tx_peer: StdStream,
    /// Shutdown target.
    sh: TcpStream,
    _sh_peer: StdStream,
    /// `read_at` on an empty pipe; the test writes into it.
    rpipe: SharedFd,
    rpipe_reader: File,
    rpipe_writer: File,
    /// `write_at` into a pipe kept full; the test drains it.
    wpipe: SharedFd,
    wpipe_writer: File,
    wpipe_reader: File,
    /// splice source pipe (empty; the test writes into it) and destination pipe.
    splice_in: SharedFd,
    splice_in_writer: File,
    splice_out: SharedFd,
    splice_out_reader: File,
    /// A scratch file, read/write.
    file: SharedFd,
    path: PathBuf,
    /// Source of fresh fds for `close`.
    dup_src: File,
    /// Operations the fixtures keep in the ring between iterations: the armed multishot
    /// accept and multishot recv.
    resident_ops: usize,
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Polls a multishot accept once so it is armed (and stays armed in the listener).
fn arm_accept(listener: &mut TcpListener) {
    let mut f = Box::pin(listener.accept());
    assert!(
        poll_noop(f.as_mut()).is_pending(),
        "no connection is queued"
    );
}

/// Polls a multishot recv once so it is armed (and stays armed in the stream).
fn arm_recv(stream: &mut TcpStream) {
    let mut f = Box::pin(stream.recv());
    assert!(poll_noop(f.as_mut()).is_pending(), "no data is queued");
}

impl Fixtures {
    async fn new(tag: u64) -> Fixtures {
        let mut listener = TcpListener::bind(localhost()).expect("bind");
        arm_accept(&mut listener);
        let sink = StdListener::bind(localhost()).expect("bind sink");
        sink.set_nonblocking(true).unwrap();
        let pairs = StdListener::bind(localhost()).expect("bind pairs");
        let (mut rx, rx_peer) = stream_pair(&pairs).await;
        arm_recv(&mut rx);
        let (rd, rd_peer) = stream_pair(&pairs).await;
        let (tx, tx_peer) = stream_pair(&pairs).await;
        // A small send buffer keeps filling cheap. The peer's receive buffer stays at its
        // default: one smaller than the loopback MSS makes the receiver advertise a zero
        // window until the persist timer fires (200 ms+ per stall).
        set_sock_buf(tx.as_raw_fd(), libc::SO_SNDBUF, 4096);
        tx_peer.set_nonblocking(true).unwrap();
        let (sh, sh_peer) = stream_pair(&pairs).await;

        let (r, w) = pipe_pair();
        let (rpipe, rpipe_reader) = with_dup(r);
        let rpipe_writer = into_file(w);
        let (r, w) = pipe_pair();
        let (wpipe, wpipe_writer) = with_dup(w);
        let wpipe_reader = into_file(r);
        let (splice_in, w) = pipe_pair();
        let splice_in_writer = into_file(w);
        let (r, splice_out) = pipe_pair();
        let splice_out_reader = into_file(r);

        let path =
            std::env::temp_dir().join(format!("coreline-cancel-{}-{tag}.tmp", std::process::id()));
        std::fs::write(&path, pattern(FILE_LEN, 7)).expect("scratch file");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open scratch file");
        let dup_src = file.try_clone().unwrap();
        let file = SharedFd::new(OwnedFd::from(file));

        let mut fx = Fixtures {
            listener,
            sink,
            pairs,
            rx,
            rx_peer,
            rd,
            rd_peer,
            tx,
            tx_peer,
            sh,
            _sh_peer: sh_peer,
            rpipe,
            rpipe_reader,
            rpipe_writer,
            wpipe,
            wpipe_writer,
            wpipe_reader,
            splice_in,
            splice_in_writer,
            splice_out,
            splice_out_reader,
            file,
            path,
            dup_src,
            resident_ops: 2,
        };
        fx.fill_wpipe(0);
        settle(fx.resident_ops).await;
        fx
    }

    /// Tops the write pipe up to full (it holds `held` bytes now).
    fn fill_wpipe(&mut self, held: usize) {
        // The pipe has exactly this much room, so the blocking write cannot block.
        self.wpipe_writer
            .write_all(&vec![0x77; PIPE_CAPACITY - held])
            .expect("filling the write pipe");
    }

    /// Waits until only the resident ops are left in the ring.
    async fn settle(&self) {
        let peer = self.tx_peer.as_raw_fd();
        settle_with(self.resident_ops, || {
            drain_socket(peer);
        })
        .await;
    }

    async fn new_rx(&mut self) {
        let (mut rx, peer) = stream_pair(&self.pairs).await;
        arm_recv(&mut rx);
        // The old stream goes here, with its multishot recv armed (and maybe completions
        // holding provided buffers queued): that recv is cancelled.
        self.rx = rx;
        self.rx_peer = peer;
    }

    fn new_listener(&mut self) {
        let mut listener = TcpListener::bind(localhost()).expect("bind");
        arm_accept(&mut listener);
        // The old listener goes here, with its multishot accept armed (and maybe an
        // accepted connection queued): the accept is cancelled, the connection closed.
        self.listener = listener;
    }

    async fn run(&mut self, kind: Kind, at: At, rng: &mut Rng, salt: u64) {
        match kind {
            Kind::Accept => self.accept(at, rng).await,
            Kind::Connect => self.connect(at).await,
            Kind::Recv => self.recv(at, rng, salt).await,
            Kind::ReadSocket => self.read_socket(at, rng, salt).await,
            Kind::ReadPipe => self.read_pipe(at, rng, salt).await,
            Kind::ReadFile => {
                let buf = Vec::with_capacity(rng.range(1, 8192));
                let offset = rng.below(FILE_LEN as u64);
                exercise_plain(ops::read_at(&self.file, buf, offset), at, "read_at file").await;
            }
            Kind::WritePipe => self.write_pipe(at, rng, salt).await,
            Kind::WriteFile => {
                let buf = pattern(rng.range(1, FILE_LEN), salt);
                let offset = rng.below(FILE_LEN as u64);
                exercise_plain(ops::write_at(&self.file, buf, offset), at, "write_at file").await;
            }
            Kind::Send => {
                let buf = pattern(rng.range(1, 16 * 1024), salt);
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                exercise(self.tx.send(buf), at, "send", || {}, pump).await;
            }
            Kind::SendVectored => {
                let bufs: Vec<Vec<u8>> = (0..rng.range(1, 4))
                    .map(|i| pattern(rng.range(1, 3000), salt + i as u64))
                    .collect();
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                exercise(
                    self.tx.send_vectored(bufs),
                    at,
                    "send_vectored",
                    || {},
                    pump,
                )
                .await;
            }
            Kind::SendZc => {
                let buf = pattern(rng.range(1, 16 * 1024), salt);
                let peer = self.prepare_send(at, rng);
                let pump = || {
                    drain_socket(peer);
                };
                exercise(self.tx.send_zc(buf), at, "send_zc", || {}, pump).await;
            }
            Kind::SplicePipe => self.splice_pipe(at, rng, salt).await,
            Kind::SpliceFile => self.splice_file(at, rng).await,
            Kind::OpenAt => {
                let flags = if rng.bit() {
                    libc::O_RDONLY
                } else {
                    libc::O_RDWR
                };
                exercise_plain(ops::open_at(&self.path, flags, 0), at, "open_at").await;
            }
            Kind::FileOpen => exercise_plain(fs::File::open(&self.path), at, "File::open").await,
            Kind::Statx => {
                exercise_plain(ops::statx(&self.path, rng.bit()), at, "statx").await;
            }
            Kind::StatxFd => exercise_plain(ops::statx_fd(&self.file), at, "statx_fd").await,
            Kind::Close => {
                let fd = OwnedFd::from(self.dup_src.try_clone().expect("dup"));
                exercise_plain(ops::close(fd), at, "close").await;
            }
            Kind::Shutdown => {
                let how = match rng.below(3) {
                    0 => std::net::Shutdown::Read,
                    1 => std::net::Shutdown::Write,
                    _ => std::net::Shutdown::Both,
                };
                exercise_plain(self.sh.shutdown(how), at, "shutdown").await;
            }
            Kind::Timeout => {
                let d = if at == At::AfterCompletion || rng.bit() {
                    Duration::from_micros(rng.below(100))
                } else {
                    Duration::from_secs(3600)
                };
                exercise_plain(ops::timeout_op(d), at, "timeout_op").await;
            }
            Kind::Sleep => {
                let d = if at == At::AfterCompletion || rng.bit() {
                    Duration::from_micros(1 + rng.below(100))
                } else {
                    Duration::from_secs(3600)
                };
                // (A sleep may be over by its first poll already; that is fine.)
                exercise(time::sleep(d), at, "sleep", || {}, || {}).await;
                assert_eq!(
                    core_stats().timers,
                    0,
                    "a dropped Sleep left its timer behind"
                );
            }
        }
    }

    async fn accept(&mut self, at: At, rng: &mut Rng) {
        let addr = self.listener.local_addr();
        let mut client = None;
        let reaped = exercise(
            self.listener.accept(),
            at,
            "accept",
            || client = Some(StdStream::connect(addr).expect("connect to listener")),
            || {},
        )
        .await;
        match (at, client) {
            (At::AfterCompletion, Some(client)) => {
                assert!(reaped);
                if rng.bit() {
                    // The connection was accepted into the ring and never handed out.
                    // Dropping the listener must close it: the client then reads EOF (a
                    // connection still in the kernel's backlog would be reset instead).
                    self.new_listener();
                    client
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let r = (&client).read(&mut [0_u8; 1]);
                    assert!(
                        matches!(r, Ok(0)),
                        "accepted-but-dropped connection should be closed, got {r:?}"
                    );
                } else {
                    // Dropping the future loses nothing: the next accept gets it.
                    let stream = self.listener.accept().await.expect("accept");
                    assert_eq!(
                        stream.peer_addr().unwrap(),
                        client.local_addr().unwrap(),
                        "the connection accepted under the dropped future was lost"
                    );
                }
            }
            (At::InFlight { .. }, _) if rng.one_in(4) => self.new_listener(),
            _ => {}
        }
    }

    async fn connect(&mut self, at: At) {
        let addr = self.sink.local_addr().unwrap();
        exercise_plain(TcpStream::connect(addr), at, "connect").await;
        let mut accepted = 0;
        loop {
            match self.sink.accept() {
                Ok(_) => accepted += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("sink accept: {e}"),
            }
        }
        if at == At::AfterCompletion {
            // (More than one if an earlier, abandoned connect got through meanwhile.)
            assert!(
                accepted >= 1,
                "the completed connect never reached the listener"
            );
        }
    }

    async fn recv(&mut self, at: At, rng: &mut Rng, salt: u64) {
        let len = rng.range(1, 6000);
        let data = pattern(len, salt);
        let peer = &mut self.rx_peer;
        exercise(
            self.rx.recv(),
            at,
            "recv",
            || peer.write_all(&data).expect("peer write"),
            || {},
        )
        .await;
        match at {
            At::AfterCompletion => {
                assert!(
                    buf_ring_stats().in_use >= 1,
                    "the completion should hold a provided buffer"
                );
                if rng.bit() {
                    // Drop the stream with provided buffers queued in its recv.
                    self.new_rx().await;
                    assert_eq!(buf_ring_stats().in_use, 0, "queued buffers not returned");
                } else {
                    // Dropping the future loses no data: the next recv calls get it all.
                    let mut got = Vec::with_capacity(len);
                    while got.len() < len {
                        let buf = self.rx.recv().await.expect("recv").expect("not EOF");
                        got.extend_from_slice(&buf);
                    }
                    assert!(
                        got == data,
                        "data received under the dropped future was lost"
                    );
                }
            }
            At::InFlight { .. } if rng.one_in(4) => self.new_rx().await,
            _ => {}
        }
    }

    async fn read_socket(&mut self, at: At, rng: &mut Rng, salt: u64) {
        if at == At::AfterCompletion {
            // An abandoned read whose cancel has not gone through yet could take the data.
            self.settle().await;
        }
        let len = rng.range(1, 4096);
        let buf = Vec::with_capacity(rng.range(1, 8192));
        let peer = &mut self.rd_peer;
        let data = pattern(len, salt);
        exercise(
            self.rd.read(buf),
            at,
            "TcpStream::read",
            || peer.write_all(&data).expect("peer write"),
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            let left = drain_socket(self.rd.as_raw_fd());
            assert!(left < len, "the dropped read never took its data");
        }
    }

    async fn read_pipe(&mut self, at: At, rng: &mut Rng, salt: u64) {
        if at == At::AfterCompletion {
            self.settle().await;
        }
        let len = rng.range(1, 4096);
        let buf = Vec::with_capacity(rng.range(1, 8192));
        let writer = &mut self.rpipe_writer;
        let data = pattern(len, salt);
        exercise(
            ops::read_at(&self.rpipe, buf, u64::MAX),
            at,
            "read_at pipe",
            || writer.write_all(&data).expect("pipe write"),
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            let left = drain_pipe(&mut self.rpipe_reader);
            assert!(left < len, "the dropped read never took its data");
        }
    }

    async fn write_pipe(&mut self, at: At, rng: &mut Rng, salt: u64) {
        if at == At::AfterCompletion {
            self.settle().await;
        }
        // The pipe is full: the write waits in the kernel until the test drains it.
        let len = rng.range(1, 4096);
        let reader = &mut self.wpipe_reader;
        exercise(
            ops::write_at(&self.wpipe, pattern(len, salt), u64::MAX),
            at,
            "write_at pipe",
            || {
                let mut all = vec![0_u8; PIPE_CAPACITY];
                reader.read_exact(&mut all).expect("draining the full pipe");
            },
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            assert_eq!(
                fionread(self.wpipe_reader.as_raw_fd()),
                len,
                "the dropped write completed"
            );
            self.fill_wpipe(len);
        }
    }

    /// Empties the send fixture's peer and, sometimes, fills the socket so the next send
    /// waits in the kernel for space. Returns the peer's fd for draining.
    fn prepare_send(&mut self, at: At, rng: &mut Rng) -> RawFd {
        drain_socket(self.tx_peer.as_raw_fd());
        if at != At::BeforeSubmit && rng.bit() {
            fill_socket(self.tx.as_raw_fd());
        }
        self.tx_peer.as_raw_fd()
    }

    async fn splice_pipe(&mut self, at: At, rng: &mut Rng, salt: u64) {
        // One splice at a time through these pipes: an abandoned one that still waits in
        // an io-wq worker would take the data meant for the next.
        self.settle().await;
        drain_pipe(&mut self.splice_out_reader);
        let len = rng.range(1, 4096);
        let writer = &mut self.splice_in_writer;
        let data = pattern(len, salt);
        exercise(
            ops::splice(&self.splice_in, None, &self.splice_out, None, 4096),
            at,
            "splice pipe",
            || writer.write_all(&data).expect("pipe write"),
            || {},
        )
        .await;
        if at == At::AfterCompletion {
            assert_eq!(
                drain_pipe(&mut self.splice_out_reader),
                len,
                "the dropped splice moved the data"
            );
        }
    }

    async fn splice_file(&mut self, at: At, rng: &mut Rng) {
        self.settle().await;
        drain_pipe(&mut self.splice_out_reader);
        let offset = rng.below(FILE_LEN as u64);
        let len = rng.range(1, 4096) as u32;
        exercise_plain(
            ops::splice(&self.file, Some(offset), &self.splice_out, None, len),
            at,
            "splice file",
        )
        .await;
        if at == At::AfterCompletion {
            assert!(
                drain_pipe(&mut self.splice_out_reader) > 0,
                "splice moved data"
            );
        }
    }
}

/// Checks at a quiet point: no ops beyond the resident ones, no buffers out, no timers.
async fn quiesce(resident: usize, pump: impl FnMut()) {
    settle_with(resident, pump).await;
    for _ in 0..3 {
        yield_now().await;
    }
    let stats = core_stats();
    assert_eq!(stats.ops_in_flight, resident, "ops left in the ring");
    assert_eq!(stats.timers, 0, "timers left registered");
    assert_eq!(buf_ring_stats().in_use, 0, "provided buffers not returned");
}

/// Runs `iterations` random (operation, drop point) cases on fresh fixtures, checking every
/// `checkpoint` iterations that nothing accumulates. Returns how often each case ran.
async fn stress(iterations: u64, seed: u64, tag: u64) -> [[u64; 3]; KINDS.len()] {
    let mut rng = Rng(seed | 1);
    let mut fx = Fixtures::new(tag).await;
    let resident = fx.resident_ops;
    let tx_peer = fx.tx_peer.as_raw_fd();
    let pump = move || {
        drain_socket(tx_peer);
    };
    quiesce(resident, pump).await;
    let fds0 = open_fds();
    let heap0 = thread_live();
    let mut tally = [[0_u64; 3]; KINDS.len()];
    let checkpoint = 10_000;
    let trace = std::env::var_os("CORELINE_CANCEL_TRACE").is_some();
    for i in 0..iterations {
        let k = rng.below(KINDS.len() as u64) as usize;
        let (p, at) = match rng.below(3) {
            0 => (0, At::BeforeSubmit),
            1 => (
                1,
                At::InFlight {
                    kernel_has_it: rng.bit(),
                },
            ),
            _ => (2, At::AfterCompletion),
        };
        tally[k][p] += 1;
        if trace {
            eprintln!(
                "{i}: {:?} {at:?} (in flight {})",
                KINDS[k],
                core_stats().ops_in_flight
            );
        }
        fx.run(KINDS[k], at, &mut rng, i).await;
        assert_eq!(
            buf_ring_stats().in_use,
            0,
            "iteration {i}: {:?} at {at:?} left a provided buffer out",
            KINDS[k]
        );
        // Cancelled io-wq work (statx, openat, splice) finishes only when its worker gets
        // the CPU; keep the backlog bounded so the slot slab never has to grow.
        if core_stats().ops_in_flight > resident + 64 {
            fx.settle().await;
        }
        if (i + 1) % checkpoint == 0 {
            quiesce(resident, pump).await;
            assert_eq!(open_fds(), fds0, "iteration {i}: fds leaked");
            let grown = thread_live() - heap0;
            assert!(
                grown.abs() <= HEAP_SLACK,
                "iteration {i}: heap grew by {grown} bytes"
            );
        }
    }
    drop(fx);
    quiesce(0, || {}).await;
    tally
}

/// What the heap may differ by between two quiet points. The runtime's long-lived
/// containers (slot slab, ready queue, the timer map's root node) keep their capacity, and
/// the warm-up run has grown them to what this workload needs, so the difference measured
/// here is 0. The slack only absorbs capacity that could still end up sized differently on
/// another machine (a multishot slot's completion queue, the slab if cancelled io-wq work
/// piles up higher under load). A leak of even 8 bytes per occurrence of any one
/// (operation, drop point) case (~1,600 each in 100,000 iterations) exceeds it.
const HEAP_SLACK: isize = 4 * 1024;

#[test]
fn every_op_is_cancel_safe_at_every_drop_point() {
    let _serial = serial();
    let iterations: u64 = std::env::var("CORELINE_CANCEL_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("CORELINE_CANCEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00c0_ffee_d00d_f00d);
    eprintln!("cancel stress: {iterations} iterations, CORELINE_CANCEL_SEED={seed}");
    let started = Instant::now();
    let (tally, report) = on_core0(move || async move {
        // Warm-up: every case a few times, so lazily created structures (the slab, queues,
        // io-wq workers, the timer map's root node) exist before the baseline is taken.
        stress(3_000, seed ^ 0x5555, 0).await;
        quiesce(0, || {}).await;
        let fds0 = open_fds();
        let heap0 = thread_live();

        let tally = stress(iterations, seed, 1).await;

        quiesce(0, || {}).await;
        let fds1 = open_fds();
        let heap1 = thread_live();
        (tally, (fds0, fds1, heap0, heap1))
    });
    let (fds0, fds1, heap0, heap1) = report;
    eprintln!(
        "cancel stress: {:.1?}, fds {fds0} -> {fds1}, heap {heap0} -> {heap1}",
        started.elapsed()
    );
    for (kind, counts) in KINDS.iter().zip(&tally) {
        eprintln!(
            "  {kind:?}: before {} / in flight {} / after {}",
            counts[0], counts[1], counts[2]
        );
        if iterations >= 10_000 {
            assert!(
                counts.iter().all(|&c| c > 0),
                "{kind:?} was not exercised at every drop point: {counts:?}"
            );
        }
    }
    assert_eq!(fds1, fds0, "fds leaked");
    assert!(
        (heap1 - heap0).abs() <= HEAP_SLACK,
        "heap grew by {} bytes",
        heap1 - heap0
    );
}

// ---------------------------------------------------------------------------------------
// Focused tests
// ---------------------------------------------------------------------------------------

#[test]
fn accept_dropped_after_connection_was_accepted_closes_the_fd() {
    let _serial = serial();
    on_core0(|| async {
        // Warm up (first accept, first connection) so the measurement sees steady state.
        {
            let mut l = TcpListener::bind(localhost()).unwrap();
            let c = StdStream::connect(l.local_addr()).unwrap();
            drop(l.accept().await.unwrap());
            drop(c);
        }
        time::sleep(Duration::from_micros(1)).await; // creates the timer map's root node
        settle(0).await;
        let fds0 = open_fds();
        let heap0 = thread_live();
        for _ in 0..100 {
            let mut listener = TcpListener::bind(localhost()).unwrap();
            let addr = listener.local_addr();
            let mut fut = Box::pin(listener.accept());
            let probe = poll_probe(fut.as_mut()).expect("nothing to accept yet");
            let client = StdStream::connect(addr).unwrap();
            wait_fired(&probe, "accept", || {}).await;
            drop(fut);
            // listener + client + the accepted socket, held by the ring's completion queue.
            assert_eq!(
                open_fds(),
                fds0 + 3,
                "the connection was accepted into the op"
            );
            drop(listener);
            settle(0).await;
            assert_eq!(open_fds(), fds0 + 1, "only the client is left");
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let r = (&client).read(&mut [0_u8; 1]);
            assert!(matches!(r, Ok(0)), "closed, not reset: {r:?}");
        }
        assert_eq!(open_fds(), fds0);
        assert_eq!(thread_live(), heap0, "heap grew");
    });
}

#[test]
fn accept_future_dropped_in_flight_loses_no_connection() {
    let _serial = serial();
    on_core0(|| async {
        let mut listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr();
        for _ in 0..100 {
            let mut fut = Box::pin(listener.accept());
            assert!(poll_noop(fut.as_mut()).is_pending());
            yield_now().await;
            let client = StdStream::connect(addr).unwrap();
            drop(fut);
            let stream = time::timeout(Duration::from_secs(5), listener.accept())
                .await
                .expect("connection lost")
                .unwrap();
            assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
        }
    });
}

/// A buffer that records when it is dropped and what the kernel wrote into it.
struct Tracked {
    buf: Box<[u8]>,
    init: usize,
    log: Arc<TrackLog>,
}

#[derive(Default)]
struct TrackLog {
    drops: AtomicUsize,
    /// Leading bytes equal to the marker when the buffer was dropped.
    marked: AtomicUsize,
}

const MARK: u8 = 0xa5;

impl Tracked {
    fn for_read(len: usize, log: &Arc<TrackLog>) -> Tracked {
        Tracked {
            buf: vec![0; len].into_boxed_slice(),
            init: 0,
            log: log.clone(),
        }
    }
    fn for_send(len: usize, log: &Arc<TrackLog>) -> Tracked {
        Tracked {
            buf: vec![MARK; len].into_boxed_slice(),
            init: len,
            log: log.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let marked = self.buf.iter().take_while(|&&b| b == MARK).count();
        self.log.marked.store(marked, Ordering::SeqCst);
        self.log.drops.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: the bytes live in a boxed slice whose heap storage does not move with the
// `Tracked`; `init <= buf.len()` always.
unsafe impl IoBuf for Tracked {
    fn stable_ptr(&self) -> *const u8 {
        self.buf.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.init
    }
}

// SAFETY: as above; the whole boxed slice is writable.
unsafe impl IoBufMut for Tracked {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.buf.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.buf.len()
    }
    unsafe fn set_init(&mut self, len: usize) {
        self.init = self.init.max(len);
    }
}

#[test]
fn read_abandoned_in_flight_keeps_its_buffer_until_the_kernel_is_done() {
    let _serial = serial();
    on_core0(|| async {
        let pairs = StdListener::bind(localhost()).unwrap();
        let (stream, mut peer) = stream_pair(&pairs).await;
        let (r, w) = pipe_pair();
        let (pipe_r, mut pipe_reader) = with_dup(r);
        let mut pipe_w = into_file(w);
        time::sleep(Duration::from_micros(1)).await; // creates the timer map's root node
        let mut heap0 = 0;
        // Rounds 0..4 warm up (both fds, with and without a prior ring entry).
        for round in 0..404_u32 {
            if round == 4 {
                settle(0).await;
                heap0 = thread_live();
            }
            let on_pipe = round % 2 == 1;
            let log = Arc::new(TrackLog::default());
            let buf = Tracked::for_read(4096, &log);
            let mut fut: Pin<Box<dyn Future<Output = (std::io::Result<usize>, Tracked)> + '_>> =
                if on_pipe {
                    Box::pin(ops::read_at(&pipe_r, buf, u64::MAX))
                } else {
                    Box::pin(stream.read(buf))
                };
            assert!(poll_noop(fut.as_mut()).is_pending());
            if round % 4 < 2 {
                yield_now().await; // the kernel has armed the read
            }
            drop(fut);
            assert_eq!(
                log.drops.load(Ordering::SeqCst),
                0,
                "buffer freed while the kernel may still write into it"
            );
            // Data arrives while the cancel is still queued: the abandoned read may take it,
            // writing into the buffer after its future is gone.
            let sent = 1000;
            if on_pipe {
                pipe_w.write_all(&[MARK; 1000]).unwrap();
            } else {
                peer.write_all(&[MARK; 1000]).unwrap();
            }
            settle(0).await;
            assert_eq!(
                log.drops.load(Ordering::SeqCst),
                1,
                "freed once, after the CQE"
            );
            let landed = log.marked.load(Ordering::SeqCst);
            let rest = if on_pipe {
                drain_pipe(&mut pipe_reader)
            } else {
                drain_socket(stream.as_raw_fd())
            };
            assert!(
                landed == 0 || landed == sent,
                "partial data in the buffer: {landed}"
            );
            assert_eq!(landed + rest, sent, "bytes lost");
            drop(log);
            if round >= 4 {
                assert_eq!(thread_live(), heap0, "round {round}: heap grew");
            }
        }
    });
}

#[test]
fn send_zc_abandoned_keeps_its_buffer_until_the_notification() {
    let _serial = serial();
    on_core0(|| async {
        if !coreline_runtime::ring_info().send_zc {
            eprintln!("kernel lacks SEND_ZC; skipped");
            return;
        }
        let pairs = StdListener::bind(localhost()).unwrap();
        let (stream, peer) = stream_pair(&pairs).await;
        set_sock_buf(stream.as_raw_fd(), libc::SO_SNDBUF, 4096);
        let mut still_owned_by_kernel = 0;
        for round in 0..100 {
            // Half the rounds the send waits for space (and is cancelled); the others it
            // sends part of the buffer at once, and the pages stay referenced by the socket
            // until the peer has the data: the buffer must outlive that too.
            if round % 2 == 0 {
                fill_socket(stream.as_raw_fd());
            }
            let log = Arc::new(TrackLog::default());
            let mut fut = Box::pin(stream.send_zc(Tracked::for_send(64 * 1024, &log)));
            assert!(poll_noop(fut.as_mut()).is_pending());
            yield_now().await;
            drop(fut);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                // The buffer lives exactly as long as the ring holds the op.
                let in_flight = core_stats().ops_in_flight;
                let dropped = log.drops.load(Ordering::SeqCst);
                assert_eq!(
                    dropped,
                    usize::from(in_flight == 0),
                    "buffer dropped {dropped} times with {in_flight} ops in flight"
                );
                if in_flight == 0 {
                    break;
                }
                still_owned_by_kernel += 1;
                drain_socket(peer.as_raw_fd());
                let _ = time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
                assert!(Instant::now() < deadline, "SEND_ZC never finished");
            }
            drain_socket(peer.as_raw_fd());
        }
        assert!(
            still_owned_by_kernel > 0,
            "no round dropped a send in flight"
        );
    });
}

#[test]
fn dropping_the_runtime_with_ops_in_flight_returns_and_frees_everything() {
    let _serial = serial();
    // Run 0 warms process-wide lazies (thread-spawn machinery, io-wq); the heap is compared
    // across the following runs. The figure is process-wide (the core thread is gone when we
    // look), so a little slack covers the test harness's own threads; a leak of even 8
    // bytes per abandoned op adds up beyond it over the runs.
    const RUNS: usize = 16;
    let mut heap0 = 0;
    for run in 0..=RUNS {
        if run == 1 {
            heap0 = PROCESS_LIVE.load(Ordering::SeqCst);
        }
        let fds0 = open_fds();
        let log = Arc::new(TrackLog::default());
        let started = Instant::now();
        let spawned = {
            let log = log.clone();
            on_core0(move || async move { park_ops_in_flight(&log).await })
        };
        let elapsed = started.elapsed();
        // The drain cancels everything; had it given up (its deadline is 5 s) it would leak
        // the buffers rather than free them under the kernel, which the count catches.
        assert!(
            elapsed < Duration::from_secs(3),
            "shutdown took {elapsed:?}"
        );
        assert_eq!(
            log.drops.load(Ordering::SeqCst),
            spawned,
            "buffers of in-flight ops were not freed at shutdown"
        );
        assert_eq!(open_fds(), fds0, "fds leaked by the runtime's shutdown");
    }
    let grown = PROCESS_LIVE.load(Ordering::SeqCst) - heap0;
    assert!(
        grown.abs() <= 1024,
        "heap grew by {grown} bytes over {RUNS} runtimes"
    );
}

/// Spawns tasks whose ops wait in the kernel forever, lets them get there, and returns
/// (ending the runtime) with all of them in flight. Returns how many `Tracked` buffers the
/// ops own.
async fn park_ops_in_flight(log: &Arc<TrackLog>) -> usize {
    let mut tracked = 0;
    let pairs = StdListener::bind(localhost()).unwrap();

    // Multishot accept with nothing to accept.
    let mut listener = TcpListener::bind(localhost()).unwrap();
    spawn_local(async move {
        let _ = listener.accept().await;
    });
    // Multishot recv on an idle connection.
    let (mut s, peer) = stream_pair(&pairs).await;
    spawn_local(async move {
        let _peer = peer;
        let _ = s.recv().await;
    });
    // Single-shot recv into a tracked buffer.
    let (s, peer) = stream_pair(&pairs).await;
    let buf = Tracked::for_read(4096, log);
    tracked += 1;
    spawn_local(async move {
        let _peer = peer;
        let _ = s.read(buf).await;
    });
    // SEND_ZC and vectored send waiting for socket space.
    let (s, peer) = stream_pair(&pairs).await;
    set_sock_buf(s.as_raw_fd(), libc::SO_SNDBUF, 4096);
    fill_socket(s.as_raw_fd());
    let zc = coreline_runtime::ring_info().send_zc;
    let (a, b) = (Tracked::for_send(8192, log), Tracked::for_send(8192, log));
    tracked += 2;
    spawn_local(async move {
        let _peer = peer;
        if zc {
            let (_, _) = futures_join(s.send_zc(a), s.send_vectored(vec![b])).await;
        } else {
            drop(a);
            let _ = s.send_vectored(vec![b]).await;
        }
    });
    // Read from an empty pipe (poll-driven) and write into a full one.
    let (r, w) = pipe_pair();
    let buf = Tracked::for_read(4096, log);
    tracked += 1;
    spawn_local(async move {
        let _w = w;
        let _ = ops::read_at(&r, buf, u64::MAX).await;
    });
    let (r, w) = pipe_pair();
    let (w, mut fw) = with_dup(w);
    fw.write_all(&vec![0; PIPE_CAPACITY]).unwrap();
    let buf = Tracked::for_send(4096, log);
    tracked += 1;
    spawn_local(async move {
        let (_r, _fw) = (r, fw);
        let _ = ops::write_at(&w, buf, u64::MAX).await;
    });
    // splice from an empty pipe: blocks inside an io-wq worker.
    let (ar, aw) = pipe_pair();
    let (br, bw) = pipe_pair();
    spawn_local(async move {
        let (_aw, _br) = (aw, br);
        let _ = ops::splice(&ar, None, &bw, None, 4096).await;
    });
    // Kernel timeout and runtime timer.
    spawn_local(async {
        let _ = ops::timeout_op(Duration::from_secs(3600)).await;
    });
    spawn_local(async {
        time::sleep(Duration::from_secs(3600)).await;
    });
    // Let everything reach the kernel (and the io-wq worker block in the splice).
    for _ in 0..4 {
        yield_now().await;
    }
    time::sleep(Duration::from_millis(5)).await;
    assert!(
        core_stats().ops_in_flight >= 8,
        "ops should be in flight: {:?}",
        core_stats()
    );
    assert_eq!(log.drops.load(Ordering::SeqCst), 0);
    tracked
}

/// Polls two futures concurrently until both finish (no external crates needed).
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = Box::pin(a);
    let mut b = Box::pin(b);
    let (mut ra, mut rb) = (None, None);
    poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}
