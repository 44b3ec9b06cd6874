//! TCP and UDP. TCP: per-core listeners with multishot accept, streams with multishot receive; both
//! can adopt sockets made elsewhere (`from_std`, `From<OwnedFd>`) and hand them back
//! (`IntoRawFd`, `Into<OwnedFd>`). UDP: datagrams from and into owned buffers.

mod adopt;
mod listener;
mod stream;
mod udp;

pub use listener::{ListenOptions, QueueInfo, QueueProbe, TcpListener};
pub use stream::TcpStream;
pub use udp::UdpSocket;
