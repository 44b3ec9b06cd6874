//! The io_uring operations, each a future that owns its buffers; and, in [`direct`],
//! the few system calls made without the ring (plain functions, never futures).
//!
//! Higher-level types ([`TcpStream`](crate::net::TcpStream), [`File`](crate::fs::File)) wrap
//! most of them; the ones here are also usable directly on any [`SharedFd`](crate::SharedFd).

mod convert;
pub mod direct;
mod fixed;
mod misc;
mod msg;
mod net;
mod open;
mod registered;
mod rw;
mod send_ring;
mod stat;

pub use fixed::send_fixed;
pub use misc::{readable, splice, timeout_op, writable};
pub use msg::{recv_from, send_to};
pub(crate) use net::connect_raw;
pub use net::{connect, recv, send, send_more, send_op, send_vectored, send_zc, shutdown, SendOp};
pub use open::{close, open_at, open_at2};
pub use registered::{send_registered, send_registered_fixed, RegisteredBuf, REGISTERED_SLOTS};
pub use rw::{read_at, write_at};
pub use send_ring::SendRing;
pub use stat::{statx, statx_fd, Statx};
