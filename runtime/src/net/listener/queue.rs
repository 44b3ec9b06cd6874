//! A listener's accept queue as the kernel reports it, read on its core or from any thread.

use std::io;

use crate::sys;

/// A listener's accept queue as the kernel reports it (`TCP_INFO` on the listening socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueInfo {
    /// Connections fully established and waiting to be accepted (`tcpi_unacked`).
    pub depth: u32,
    /// The accept queue's limit: the backlog after the `somaxconn` clamp (`tcpi_sacked`).
    pub backlog: u32,
}

/// A duplicate of a listening socket's fd that reads its [`QueueInfo`] from any thread;
/// see [`TcpListener::queue_probe`](crate::net::TcpListener::queue_probe).
#[derive(Debug)]
pub struct QueueProbe {
    pub(super) fd: std::os::fd::OwnedFd,
}

impl QueueProbe {
    /// The accept queue's current depth and limit (one `getsockopt(TCP_INFO)`).
    pub fn read(&self) -> io::Result<QueueInfo> {
        let info = sys::tcp_info(std::os::fd::AsRawFd::as_raw_fd(&self.fd))?;
        Ok(QueueInfo {
            depth: info.tcpi_unacked,
            backlog: info.tcpi_sacked,
        })
    }
}
