//! `UdpSocket`: datagrams through the ring, from and into owned buffers.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::buf::{IoBuf, IoBufMut};
use crate::fd::{AsSharedFd, SharedFd};
use crate::{ops, sys};

/// A UDP socket on the current core. Each receive takes an owned buffer (a datagram is
/// one read, so the provided-buffer ring of TCP streams brings nothing here).
pub struct UdpSocket {
    fd: SharedFd,
}

impl UdpSocket {
    /// Binds `addr` (port 0: any free port).
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        UdpSocket::from_std(std::net::UdpSocket::bind(addr)?)
    }

    /// Adopts a std socket (switching it to non-blocking mode, like every socket the
    /// runtime holds).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            fd: SharedFd::new(socket.into()),
        })
    }

    /// Sets the default peer: [`send`](Self::send) goes there and only its datagrams are
    /// received. A direct system call: for UDP it only records the address.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        sys::connect_now(self.fd.raw(), &addr)
    }

    /// Sends `buf` as one datagram to `addr`.
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: SocketAddr) -> (io::Result<usize>, B) {
        ops::send_to(&self.fd, buf, addr).await
    }

    /// Receives one datagram into the spare capacity of `buf`, with its sender's address.
    /// A datagram longer than the spare capacity is truncated.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> (io::Result<(usize, SocketAddr)>, B) {
        ops::recv_from(&self.fd, buf).await
    }

    /// Sends `buf` as one datagram to the connected peer.
    pub async fn send<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        ops::send(&self.fd, buf).await
    }

    /// Receives one datagram from the connected peer into the spare capacity of `buf`.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        ops::recv(&self.fd, buf).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::socket_addr(self.fd.raw(), false)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::socket_addr(self.fd.raw(), true)
    }
}

impl From<UdpSocket> for OwnedFd {
    /// Hands back the socket (a duplicate fd if an abandoned op still holds it).
    fn from(socket: UdpSocket) -> OwnedFd {
        socket
            .fd
            .into_owned()
            .expect("coreline: cannot duplicate a socket fd still used by an op")
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsSharedFd for UdpSocket {
    fn as_shared_fd(&self) -> &SharedFd {
        &self.fd
    }
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("fd", &self.fd.raw())
            .finish()
    }
}
