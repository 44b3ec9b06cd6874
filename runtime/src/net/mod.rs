//! TCP: per-core listeners with multishot accept, streams with multishot receive.

mod listener;
mod stream;

pub use listener::{ListenOptions, QueueInfo, QueueProbe, TcpListener};
pub use stream::TcpStream;
