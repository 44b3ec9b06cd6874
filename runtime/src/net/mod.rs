//! TCP: per-core listeners with multishot accept, streams with multishot receive; both
//! can adopt sockets made elsewhere (`from_std`, `From<OwnedFd>`) and hand them back
//! (`IntoRawFd`, `Into<OwnedFd>`).

mod adopt;
mod listener;
mod stream;

pub use listener::{ListenOptions, QueueInfo, QueueProbe, TcpListener};
pub use stream::TcpStream;
