//! coreline-runtime: a thread-per-core io_uring runtime for Linux.
//!
//! One pinned thread per core, each with its own io_uring (SINGLE_ISSUER + DEFER_TASKRUN
//! when the kernel has them) and a local executor for `!Send` futures. I/O goes through
//! the ring: multishot accept, multishot recv from a per-core provided-buffer ring
//! (idle connections hold no buffer), owned-buffer sends, SEND_ZC, splice, file ops.
//! Every operation is cancel-safe: dropping its future at any point never lets the kernel
//! write freed memory and never leaks an fd or a buffer. The few non-blocking system
//! calls that cost less than a ring round trip sit apart, in [`ops::direct`].
//!
//! Beyond the cores:
//! - [`net`]: TCP listeners and streams (which also adopt std or raw sockets with
//!   `from_std` / `From<OwnedFd>` and hand them back with `IntoRawFd`), [`net::UdpSocket`],
//!   and [`net::UnixStream`] / [`net::UnixListener`] for local upstreams.
//! - [`spawn_blocking`]: blocking closures on a bounded thread pool shared by the cores
//!   ([`Builder::blocking_threads`]); the result wakes the awaiting core through its inbox.
//! - [`sync`]: `oneshot` and bounded `mpsc` channels between cores and plain threads.
//! - Feature `bytes`: `bytes::Bytes` and `bytes::BytesMut` are owned buffers
//!   ([`buf::IoBuf`]), sent without a copy.
//! - Feature `tokio`: `tokio_compat::TokioBridge` runs futures that need a tokio runtime
//!   (tokio-based clients, tokio timers) beside the cores; a core awaits their output
//!   without blocking.
//! - Feature `futures-io`: `net::Compat` gives a [`net::TcpStream`] the `futures-io`
//!   `AsyncRead`/`AsyncWrite` traits (one copy each way).
//!
//! ```no_run
//! use coreline_runtime::{net::TcpListener, spawn_local, Cores, Runtime};
//!
//! Runtime::builder().cores(Cores::All).build()?.run(|_core| async {
//!     let mut listener = TcpListener::bind("127.0.0.1:8080".parse().unwrap()).unwrap();
//!     loop {
//!         let Ok(mut stream) = listener.accept().await else { continue };
//!         spawn_local(async move {
//!             while let Ok(Some(data)) = stream.recv().await {
//!                 let (res, _) = stream.send_all(data.to_vec()).await;
//!                 if res.is_err() { break; }
//!             }
//!         });
//!     }
//! })?;
//! # Ok::<(), coreline_runtime::Error>(())
//! ```

mod blocking;
pub mod buf;
mod buf_ring;
mod context;
mod core_loop;
mod cores;
mod driver;
mod error;
mod executor;
mod fd;
pub mod fs;
mod join;
pub mod metrics;
pub mod net;
mod op;
pub mod ops;
mod remote;
mod runtime;
mod rx_stamp;
pub mod sync;
mod sys;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio_compat;

pub use blocking::{spawn_blocking, BlockingJoinHandle};
pub use buf_ring::{BufRingStats, RecvBuf};
pub use context::{
    buf_ring_stats, core_stats, current_core, handle, ring_info, spawn_local, CoreId, CoreStats,
};
pub use cores::Cores;
pub use driver::{RegisteredSendOp, RingFlags, RingInfo};
pub use error::Error;
pub use executor::yield_now;
pub use fd::{AsSharedFd, FixedFd, SharedFd};
pub use join::{JoinError, JoinHandle};
pub use remote::{Handle, RemoteJoinHandle};
pub use runtime::{Builder, Runtime};
