//! `TcpStream`: receives through a multishot recv on the core's provided-buffer ring (no
//! buffer held while idle), sends from owned buffers.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::conn::{stream_io, Conn};
use crate::fd::{AsSharedFd, SharedFd};
use crate::{ops, sys};

/// A TCP connection on the current core.
pub struct TcpStream {
    conn: Conn,
}

impl TcpStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        TcpStream {
            conn: Conn::new(fd),
        }
    }

    /// An accepted socket; `stamped`: receive timestamps are on for it already (inherited
    /// from the listener).
    pub(crate) fn accepted(fd: OwnedFd, stamped: bool) -> Self {
        let mut stream = Self::from_fd(fd);
        stream.conn.stamped = stamped.then_some(true);
        stream
    }

    /// Ends the multishot receive and gives back the socket's fd (see `adopt`).
    pub(super) fn into_shared_fd(self) -> SharedFd {
        self.conn.into_shared_fd()
    }

    /// Connects to `addr` (with `TCP_NODELAY` on).
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_fd(sys::tcp_socket(&addr)?);
        stream.set_nodelay(true)?;
        ops::connect(&stream.conn.fd, addr).await?;
        Ok(stream)
    }

    /// Connects to `addr` with `TCP_FASTOPEN_CONNECT` (and `TCP_NODELAY`). With a Fast Open
    /// cookie from an earlier connection to `addr` cached, the connect completes at once
    /// without a packet sent, and the first send carries its data in the SYN; without one,
    /// the SYN asks the server for a cookie (a normal handshake). Needs the client bit (1)
    /// of `net.ipv4.tcp_fastopen`, which is the default; `TcpExtTCPFastOpenActive` counts
    /// the SYNs that carried data.
    pub async fn connect_fastopen(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_fd(sys::tcp_socket(&addr)?);
        stream.set_nodelay(true)?;
        sys::set_int_opt(
            stream.conn.fd.raw(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN_CONNECT,
            1,
        )?;
        ops::connect(&stream.conn.fd, addr).await?;
        Ok(stream)
    }

    stream_io!();

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::socket_addr(self.conn.fd.raw(), false)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::socket_addr(self.conn.fd.raw(), true)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        sys::set_int_opt(
            self.conn.fd.raw(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            i32::from(on),
        )
    }

    /// Reads `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::get_int_opt(self.conn.fd.raw(), libc::IPPROTO_TCP, libc::TCP_NODELAY).map(|v| v != 0)
    }

    /// Reads an integer socket option, e.g. `(libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT)`:
    /// lets tuning code check what an accepted socket inherited from its listener.
    pub fn int_option(&self, level: i32, name: i32) -> io::Result<i32> {
        sys::get_int_opt(self.conn.fd.raw(), level, name)
    }

    /// On a connection to a loopback address whose algorithm is BBR, switches it to `reno`:
    /// what [`ListenOptions::unpaced_loopback`](crate::net::ListenOptions::unpaced_loopback)
    /// does for accepted sockets, for a connection made here. Returns the algorithm it
    /// replaced, if it did.
    pub fn unpace_on_loopback(&self) -> io::Result<Option<String>> {
        if !super::unpaced::is_loopback(&self.peer_addr()?) {
            return Ok(None);
        }
        let Some((current, name)) = super::unpaced::instead_of(self.conn.fd.raw()) else {
            return Ok(None);
        };
        sys::set_congestion_control(self.conn.fd.raw(), name)?;
        Ok(Some(current))
    }

    /// Reads `TCP_CONGESTION`: the name of the congestion control algorithm the socket
    /// uses (inherited from its listener's
    /// [`ListenOptions::congestion_control`](crate::net::ListenOptions::congestion_control),
    /// or the kernel's default).
    pub fn congestion_control(&self) -> io::Result<String> {
        sys::congestion_control(self.conn.fd.raw())
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.conn.fd.raw()
    }
}

impl AsSharedFd for TcpStream {
    fn as_shared_fd(&self) -> &SharedFd {
        &self.conn.fd
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.conn.fd.raw())
            .finish()
    }
}
