//! Adopting TCP sockets made elsewhere (std, a parent process, systemd socket activation)
//! and handing them back as plain fds.
//!
//! Adopted streams are switched to `O_NONBLOCK`, as accepted ones are: the ring does not
//! care, but the direct system calls of [`ops::direct`](crate::ops::direct) (e.g.
//! `splice_now`) must never wait on a socket. Listeners keep their mode: only the ring's
//! multishot accept ever uses them.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use super::{TcpListener, TcpStream};
use crate::fd::AsSharedFd;
use crate::sys;

impl TcpStream {
    /// Adopts a connected std stream (switching it to non-blocking mode). Receive
    /// timestamps are not turned on for it.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream::from_fd(stream.into()))
    }
}

impl From<OwnedFd> for TcpStream {
    /// Adopts a connected TCP socket. Switching it to non-blocking mode cannot fail for a
    /// valid socket; if it does (not a socket), ops on it report the error.
    fn from(fd: OwnedFd) -> TcpStream {
        let _ = sys::set_nonblocking(fd.as_raw_fd(), true);
        TcpStream::from_fd(fd)
    }
}

impl TcpListener {
    /// Adopts a bound, listening std listener; it accepts through the ring's multishot
    /// accept like one from [`bind`](TcpListener::bind). `InvalidInput` if it does not
    /// listen.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let fd = OwnedFd::from(listener);
        if sys::get_int_opt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is not listening (call listen first)",
            ));
        }
        TcpListener::listening(fd)
    }
}

impl From<OwnedFd> for TcpListener {
    /// Adopts a bound, listening TCP socket.
    ///
    /// # Panics
    /// If `fd` is not a bound socket (its local address cannot be read); use
    /// [`TcpListener::from_std`] to get an error instead.
    fn from(fd: OwnedFd) -> TcpListener {
        TcpListener::listening(fd).expect("coreline: TcpListener::from(OwnedFd) needs a socket")
    }
}

/// Hands back the socket: operations still in flight on it are cancelled. If one has not
/// finished yet, the caller gets a duplicate fd of the same socket; if even that fails
/// (no fds left), the conversion panics.
macro_rules! into_fd {
    ($ty:ty) => {
        impl From<$ty> for OwnedFd {
            fn from(socket: $ty) -> OwnedFd {
                socket
                    .into_shared_fd()
                    .into_owned()
                    .expect("coreline: cannot duplicate a socket fd still used by an op")
            }
        }

        impl IntoRawFd for $ty {
            fn into_raw_fd(self) -> RawFd {
                OwnedFd::from(self).into_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.as_shared_fd().as_fd()
            }
        }
    };
}

into_fd!(TcpStream);
into_fd!(TcpListener);

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.as_shared_fd().raw()
    }
}
