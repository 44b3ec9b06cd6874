//! Unix domain stream sockets: the same owned-buffer and provided-buffer I/O as
//! [`TcpStream`](super::TcpStream), for local upstreams and sidecars.

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use super::conn::{stream_io, Conn};
use super::listener::poll_accept_fd;
use crate::driver::slot::OpKind;
use crate::fd::{AsSharedFd, SharedFd};
use crate::op::MultiOp;
use crate::{ops, sys};

/// Runs `f` on a std view of `fd` that never closes it (for std's address parsing).
fn with_std<T>(fd: &SharedFd, f: impl FnOnce(&std::os::unix::net::UnixStream) -> T) -> T {
    // SAFETY: `fd` is open for the whole borrow, and ManuallyDrop keeps the view from
    // closing the fd it does not own.
    let view = ManuallyDrop::new(unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd.raw()) });
    f(&view)
}

/// A connected Unix stream socket on the current core.
pub struct UnixStream {
    conn: Conn,
}

impl UnixStream {
    /// Connects to the socket at `path` through the ring.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = sys::RawAddr::unix(path.as_ref())?;
        // Blocking until connected, so the ring's connect never sees EAGAIN; then
        // non-blocking like every stream the runtime holds (for the direct calls).
        let fd = SharedFd::new(sys::unix_stream_socket()?);
        ops::connect_raw(&fd, addr).await?;
        sys::set_nonblocking(fd.raw(), true)?;
        let fd = fd
            .try_unwrap()
            .expect("the connect op has finished with the fd");
        Ok(UnixStream {
            conn: Conn::new(fd),
        })
    }

    /// A connected pair, e.g. to talk to a child process or between two tasks.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Adopts a connected std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            conn: Conn::new(stream.into()),
        })
    }

    stream_io!();

    /// The local address (unnamed for a connecting socket).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_std(&self.conn.fd, |s| s.local_addr())
    }

    /// The peer's address (unnamed for an accepted connection's client, usually).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with_std(&self.conn.fd, |s| s.peer_addr())
    }
}

/// A listening Unix stream socket on the current core, accepting with a multishot SQE.
pub struct UnixListener {
    fd: SharedFd,
    accept: MultiOp<SharedFd>,
}

impl UnixListener {
    /// Binds and listens at `path` (which must not exist yet).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Adopts a bound, listening std listener.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            fd: SharedFd::new(listener.into()),
            accept: MultiOp::idle(OpKind::YieldsFd),
        })
    }

    /// Waits for the next connection (one multishot accept stays armed across calls;
    /// dropping this future loses nothing).
    pub async fn accept(&mut self) -> io::Result<UnixStream> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<UnixStream>> {
        poll_accept_fd(&mut self.accept, &self.fd, cx).map_ok(|fd| UnixStream {
            conn: Conn::new(fd),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_std(&self.fd, |s| s.local_addr())
    }
}

impl From<UnixStream> for OwnedFd {
    /// Hands back the socket (a duplicate fd if an abandoned op still holds it).
    fn from(stream: UnixStream) -> OwnedFd {
        stream
            .conn
            .into_shared_fd()
            .into_owned()
            .expect("coreline: cannot duplicate a socket fd still used by an op")
    }
}

macro_rules! fd_access {
    ($ty:ty, $($field:ident).+) => {
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.$($field).+.raw()
            }
        }
        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.$($field).+.as_fd()
            }
        }
        impl AsSharedFd for $ty {
            fn as_shared_fd(&self) -> &SharedFd {
                &self.$($field).+
            }
        }
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("fd", &self.$($field).+.raw())
                    .finish()
            }
        }
    };
}

fd_access!(UnixStream, conn.fd);
fd_access!(UnixListener, fd);
