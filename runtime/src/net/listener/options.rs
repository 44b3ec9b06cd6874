//! How a listening socket is set up, and the warning when the kernel shortens its queue.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Once;
use std::time::Duration;

use super::inherited::apply_accepted_options;
use crate::sys;

/// How a listening socket is set up. Start from the defaults and change what you need
/// with the setters (one per field):
///
/// ```
/// use coreline_runtime::net::ListenOptions;
/// let options = ListenOptions::default().backlog(1024).nodelay(false);
/// assert_eq!(options.backlog, 1024);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListenOptions {
    /// Accept-queue length passed to `listen(2)` (default 4096). The kernel caps it at
    /// `net.core.somaxconn`; a warning is printed once if that happens.
    pub backlog: u32,
    /// `SO_REUSEPORT` (default on): every core binds its own socket to the same address
    /// and the kernel spreads connections across them.
    pub reuse_port: bool,
    /// `TCP_NODELAY` on accepted sockets (default on). Set on the listener, from which
    /// Linux copies it to every accepted socket, so it costs no syscall per accept.
    pub nodelay: bool,
    /// `TCP_DEFER_ACCEPT`: complete the accept only once data arrives (or this much time
    /// passed). Default off.
    pub defer_accept: Option<Duration>,
    /// `TCP_FASTOPEN` with this queue length. Default off.
    pub fastopen: Option<u32>,
    /// `TCP_NOTSENT_LOWAT` on accepted sockets, in bytes (default off: the kernel's
    /// `net.ipv4.tcp_notsent_lowat`, unlimited unless changed). A send then queues at most
    /// about this much data the peer has not been sent yet (plus one segment's worth),
    /// and the socket polls writable again only once that falls below half of it, so a
    /// peer that reads slowly pins this much kernel memory rather than a send buffer the
    /// kernel grows to megabytes. Data in flight is not limited. Set on the listener,
    /// from which Linux copies it to every accepted socket, so it costs no syscall per
    /// accept.
    pub notsent_lowat: Option<u32>,
    /// `TCP_CONGESTION` on accepted sockets, by name (`"reno"`, `"cubic"`, `"bbr"`, ...;
    /// default `None`: the kernel's `net.ipv4.tcp_congestion_control`). Set on the
    /// listener, from which Linux copies it to every accepted socket. The name must be in
    /// `/proc/sys/net/ipv4/tcp_available_congestion_control` (root may also load a
    /// module's algorithm; others only those in `tcp_allowed_congestion_control`).
    pub congestion_control: Option<String>,
    /// On a listener bound to a loopback address, with `congestion_control` unset: when the
    /// kernel's default algorithm paces each connection itself (BBR), accepted sockets get
    /// `reno` instead. Default off (the kernel's choice stays).
    ///
    /// Why: loopback has no queueing discipline, so BBR paces with a high-resolution timer
    /// per connection, and on a CPU-bound sender its measured rate feeds back into slower
    /// pacing: large responses settle in a slow or a fast mode from run to run. Loopback
    /// has no bottleneck or loss for pacing to protect, and `reno` does not pace. Listeners
    /// on other addresses keep the kernel's algorithm, whatever their peers.
    pub unpaced_loopback: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: 4096,
            reuse_port: true,
            nodelay: true,
            defer_accept: None,
            fastopen: None,
            notsent_lowat: None,
            congestion_control: None,
            unpaced_loopback: false,
        }
    }
}

impl ListenOptions {
    /// Sets `backlog` (see the field).
    #[must_use]
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets `reuse_port` (see the field).
    #[must_use]
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Sets `nodelay` (see the field).
    #[must_use]
    pub fn nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }

    /// Sets `defer_accept` (see the field).
    #[must_use]
    pub fn defer_accept(mut self, wait: Option<Duration>) -> Self {
        self.defer_accept = wait;
        self
    }

    /// Sets `fastopen` (see the field).
    #[must_use]
    pub fn fastopen(mut self, queue: Option<u32>) -> Self {
        self.fastopen = queue;
        self
    }

    /// Sets `notsent_lowat` (see the field).
    #[must_use]
    pub fn notsent_lowat(mut self, bytes: Option<u32>) -> Self {
        self.notsent_lowat = bytes;
        self
    }

    /// Sets on a throwaway socket the options the kernel may refuse (an unknown
    /// `congestion_control`, ...), so that a server reports a bad one before it starts
    /// rather than when each core binds. Errors: the first option refused, saying which.
    pub fn check(&self) -> io::Result<()> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let fd = sys::tcp_socket(&loopback)?;
        apply_accepted_options(fd.as_raw_fd(), self, &loopback)
    }

    /// Sets `congestion_control` (see the field).
    #[must_use]
    pub fn congestion_control(mut self, name: Option<String>) -> Self {
        self.congestion_control = name;
        self
    }

    /// Sets `unpaced_loopback` (see the field).
    #[must_use]
    pub fn unpaced_loopback(mut self, on: bool) -> Self {
        self.unpaced_loopback = on;
        self
    }
}

/// Warns once per process when the kernel will silently shorten the accept queue.
pub(super) fn warn_if_clamped(backlog: u32) {
    static WARNED: Once = Once::new();
    let Some(max) = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return;
    };
    if backlog > max {
        WARNED.call_once(|| {
            log::warn!(
                "coreline: warning: listen backlog {backlog} is clamped to \
                 net.core.somaxconn={max}; raise the sysctl (see kernel-tuning/) for a \
                 longer accept queue"
            )
        });
    }
}
