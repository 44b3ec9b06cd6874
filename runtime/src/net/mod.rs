//! TCP, UDP and Unix stream sockets.
//!
//! TCP: per-core listeners with multishot accept, streams with multishot receive; both
//! can adopt sockets made elsewhere (`from_std`, `From<OwnedFd>`) and hand them back
//! (`IntoRawFd`, `Into<OwnedFd>`). `FixedListener`/`FixedStream`: TCP on the ring's direct
//! descriptors (receive and send only). UDP: datagrams from and into owned buffers. Unix
//! streams: the same I/O as TCP streams. With the `futures-io` feature, `Compat` gives
//! a `TcpStream` the `futures-io` `AsyncRead`/`AsyncWrite` traits. Socket activation:
//! [`take_listen_fds`] takes the sockets a service manager passed, and
//! [`TcpListener::prepare_inherited`] checks and sets up each before the cores adopt it.
//! Steering: [`SteerLoads`] and [`SteerGroup`] send each new connection to the listener
//! of the least-loaded core.

mod activation;
mod adopt;
#[cfg(feature = "futures-io")]
mod compat;
mod conn;
mod fixed;
mod listener;
mod recv;
mod steer;
mod stream;
mod udp;
mod unix;
mod unpaced;

pub use activation::{take_listen_fds, InheritedFd};
#[cfg(feature = "futures-io")]
pub use compat::Compat;
pub use fixed::{FixedListener, FixedStream};
pub use listener::{ListenOptions, QueueInfo, QueueProbe, TcpListener};
pub use steer::{PeerListener, PublishMark, RunDelay, SteerGroup, SteerLoads};
pub use stream::TcpStream;
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
