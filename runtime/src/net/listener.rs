//! `TcpListener`: one SO_REUSEPORT socket per core, accepting with one multishot SQE.
//!
//! `options`: [`ListenOptions`]. `queue`: [`QueueInfo`] and [`QueueProbe`]. `inherited`:
//! checking and setting up a socket that was bound elsewhere. This file: binding,
//! accepting and draining.

mod inherited;
mod options;
mod queue;

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::task::{Context, Poll};

use io_uring::{opcode, types};

use super::TcpStream;
use crate::driver::slot::OpKind;
use crate::fd::{AsSharedFd, SharedFd};
use crate::op::MultiOp;
use crate::{rx_stamp, sys};
use inherited::apply_accepted_options;
use options::warn_if_clamped;
pub use options::ListenOptions;
pub use queue::{QueueInfo, QueueProbe};

/// A listening TCP socket owned by one core.
pub struct TcpListener {
    fd: SharedFd,
    accept: MultiOp<SharedFd>,
    local_addr: SocketAddr,
    /// Set by [`drain`](TcpListener::drain): the accept is cancelled and never re-armed.
    draining: bool,
    /// Receive timestamps are on for this socket, so for every accepted one (inherited).
    stamped: bool,
}

impl TcpListener {
    /// Binds `addr` with the default [`ListenOptions`] (SO_REUSEPORT, backlog 4096).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_with(addr, &ListenOptions::default())
    }

    /// Binds `addr` with `options`. Call it on each core to get one socket per core.
    pub fn bind_with(addr: SocketAddr, options: &ListenOptions) -> io::Result<Self> {
        Self::listening(Self::bind_socket(addr, options)?)
    }

    /// Binds `addr` with `options` and listens, without a core: the socket for
    /// [`from_std`](Self::from_std) on each core when the cores share one listening socket
    /// (one accept queue, taken by whichever core accepts first).
    pub fn bind_socket(addr: SocketAddr, options: &ListenOptions) -> io::Result<OwnedFd> {
        let fd = sys::tcp_socket(&addr)?;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let on = |name, level, value: i32| sys::set_int_opt(raw, level, name, value);
        on(libc::SO_REUSEADDR, libc::SOL_SOCKET, 1)?;
        // `[::]` takes IPv4 connections too (as v4-mapped addresses), whatever the host's
        // `net.ipv6.bindv6only`: one socket then serves every interface of both families.
        if matches!(addr, SocketAddr::V6(a) if a.ip().is_unspecified()) {
            on(libc::IPV6_V6ONLY, libc::IPPROTO_IPV6, 0)?;
        }
        if options.reuse_port {
            on(libc::SO_REUSEPORT, libc::SOL_SOCKET, 1)?;
        }
        apply_accepted_options(raw, options, &addr)?;
        sys::bind(raw, &addr)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
        let backlog = options.backlog.min(i32::MAX as u32);
        warn_if_clamped(backlog);
        sys::listen(raw, backlog as i32)?;
        Ok(fd)
    }

    /// Wraps a socket that is already bound and listening.
    pub(super) fn listening(fd: OwnedFd) -> io::Result<Self> {
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let local_addr = sys::socket_addr(raw, false)?;
        // On the listener, so that the kernel stamps a connection's packets from its
        // first one (and accepted sockets need no setsockopt of their own).
        let stamped = rx_stamp::on_this_core() && rx_stamp::enable(raw).is_ok();
        Ok(TcpListener {
            fd: SharedFd::new(fd),
            accept: MultiOp::idle(OpKind::YieldsFd),
            local_addr,
            draining: false,
            stamped,
        })
    }

    /// Ends the multishot accept and gives back the socket's fd (see `adopt`).
    pub(super) fn into_shared_fd(self) -> SharedFd {
        let TcpListener { fd, accept, .. } = self;
        drop(accept); // cancels it; an abandoned op keeps its own clone of `fd`
        fd
    }

    /// The bound address (with the real port if 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Reads an integer socket option of the listening socket, e.g.
    /// `(libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT)`: lets tuning code check what the kernel
    /// actually applied.
    pub fn int_option(&self, level: i32, name: i32) -> io::Result<i32> {
        sys::get_int_opt(self.fd.raw(), level, name)
    }

    /// The current depth and limit of this socket's accept queue: one `getsockopt`, cheap
    /// enough to sample periodically. With SO_REUSEPORT each core's socket has its own queue.
    pub fn queue_info(&self) -> io::Result<QueueInfo> {
        let info = sys::tcp_info(self.fd.raw())?;
        Ok(QueueInfo {
            depth: info.tcpi_unacked,
            backlog: info.tcpi_sacked,
        })
    }

    /// A `Send` probe of this socket's accept queue, for reading it from another thread:
    /// a core busy running tasks cannot sample its own queue while the queue fills.
    ///
    /// The probe holds a duplicate of the socket's fd, which keeps the socket listening
    /// (and, with `SO_REUSEPORT`, receiving its share of new connections) until the probe
    /// is dropped too: drop it together with the listener.
    pub fn queue_probe(&self) -> io::Result<QueueProbe> {
        let raw = self.fd.raw();
        // SAFETY: `raw` is owned by `self.fd`, which outlives this borrow.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
        Ok(QueueProbe {
            fd: borrowed.try_clone_to_owned()?,
        })
    }

    /// Waits for the next connection. One multishot accept stays armed across calls, so
    /// connections arriving between calls queue in the ring, not in a syscall per accept.
    /// Dropping this future loses nothing: queued connections wait for the next call (or
    /// are closed when the listener is dropped).
    pub async fn accept(&mut self) -> io::Result<TcpStream> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Like [`accept`](Self::accept), with the peer's address (one `getpeername` after the
    /// accept). A connection the peer reset before that call is an error like any failed
    /// accept (`ENOTCONN`); call `accept` again.
    pub async fn accept_with_addr(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        let stream = self.accept().await?;
        let peer = stream.peer_addr()?;
        Ok((stream, peer))
    }

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<TcpStream>> {
        if self.draining {
            return Poll::Ready(Err(io::Error::other("the listener is draining")));
        }
        poll_accept_fd(&mut self.accept, &self.fd, cx)
            .map_ok(|fd| TcpStream::accepted(fd, self.stamped))
    }
}

/// The next connection of a multishot accept on listening socket `fd`, arming it first
/// if needed; shared by every listener type.
pub(super) fn poll_accept_fd(
    accept: &mut MultiOp<SharedFd>,
    fd: &SharedFd,
    cx: &mut Context<'_>,
) -> Poll<io::Result<std::os::fd::OwnedFd>> {
    loop {
        if !accept.is_armed() {
            // O_NONBLOCK: the ring ignores it (it waits by polling), and a direct system
            // call on the stream (e.g. `ops::direct::splice_now`) can never block the core.
            let sqe = opcode::AcceptMulti::new(types::Fd(fd.raw()))
                .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
                .build();
            accept.arm(sqe, fd.clone());
        }
        match accept.poll_next(cx).map(|q| q.map(|q| q.completion)) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => continue, // ended: re-arm
            Poll::Ready(Some(c)) if c.result >= 0 => return Poll::Ready(Ok(sys::own_fd(c.result))),
            Poll::Ready(Some(c)) => {
                return Poll::Ready(Err(io::Error::from_raw_os_error(-c.result)));
            }
        }
    }
}

impl TcpListener {
    /// Stops accepting without losing a connection: cancels the multishot accept and
    /// returns, one per call, the connections the kernel accepted for it before the cancel
    /// took effect; then `None`. Serve those, then drop the listener.
    ///
    /// Dropping the listener closes the socket. Connections still in its accept queue are
    /// reset, unless `net.ipv4.tcp_migrate_req = 1` and another socket of the same
    /// SO_REUSEPORT group listens (another core, or a new process during a restart): then
    /// the kernel moves them there.
    pub async fn drain(&mut self) -> Option<TcpStream> {
        poll_fn(|cx| self.poll_drain(cx)).await
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Option<TcpStream>> {
        if !self.draining {
            self.draining = true;
            self.accept.cancel();
        }
        loop {
            match self.accept.poll_next(cx).map(|q| q.map(|q| q.completion)) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(c)) if c.result >= 0 => {
                    return Poll::Ready(Some(TcpStream::accepted(
                        sys::own_fd(c.result),
                        self.stamped,
                    )));
                }
                Poll::Ready(Some(_)) => {} // ECANCELED, or an accept that failed
            }
        }
    }
}

impl AsSharedFd for TcpListener {
    fn as_shared_fd(&self) -> &SharedFd {
        &self.fd
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.fd.raw())
            .field("local_addr", &self.local_addr)
            .finish()
    }
}
