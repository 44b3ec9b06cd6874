//! Where each listener comes from: an address every core binds with `SO_REUSEPORT` (and
//! may join to a steering group), or one socket (bound elsewhere, as by socket
//! activation, or once for all cores) that every core accepts from.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use coreline_runtime::net::{ListenOptions, SteerGroup, TcpListener};
use coreline_tls::TlsAcceptor;

use super::Builder;

/// One listener of a built server.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Each core binds its own `SO_REUSEPORT` socket to this address (port 0 resolved).
    Bind(SocketAddr),
    /// Each core accepts from its own duplicate of this listening socket (bound elsewhere,
    /// or once by the server in `ListenerMode::Shared`): one accept queue, which the
    /// kernel serves to whichever core's multishot accept takes it.
    /// (Duplicating it per core with `SO_REUSEPORT` would need the service's uid to match
    /// the binder's and would leave connections queued on the cores' sockets to be reset
    /// when the service stops, where the service manager's socket keeps them waiting for
    /// the next start.)
    Inherited { addr: SocketAddr, fd: Arc<OwnedFd> },
    /// Each core binds its own `SO_REUSEPORT` socket to this address and joins it to
    /// `group`, whose program picks the least-loaded core's socket.
    Steered {
        addr: SocketAddr,
        group: Arc<SteerGroup>,
    },
}

impl Source {
    /// Checks an inherited socket and sets it up with `options` (see
    /// [`TcpListener::prepare_inherited`]); the error names the fd.
    pub(crate) fn inherited(fd: Arc<OwnedFd>, options: &ListenOptions) -> io::Result<Source> {
        let addr = TcpListener::prepare_inherited(fd.as_fd(), options).map_err(|e| {
            io::Error::new(e.kind(), format!("inherited fd {} {e}", fd.as_raw_fd()))
        })?;
        Ok(Source::Inherited { addr, fd })
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        match self {
            Source::Bind(addr) | Source::Inherited { addr, .. } | Source::Steered { addr, .. } => {
                *addr
            }
        }
    }
}

/// How one core gets one listener.
pub(crate) enum CoreSocket {
    Bind(SocketAddr),
    /// The core's own duplicate of an inherited socket.
    Adopt(OwnedFd),
    /// Bind, then join the steering group as this core's socket.
    Steered(SocketAddr, Arc<SteerGroup>),
}

/// One core's listeners to set up: plain ones first, then the TLS ones with their acceptor.
pub(crate) type CoreListeners = Vec<(CoreSocket, Option<TlsAcceptor>)>;

/// Splits the listeners into one list per core, each with its own duplicates of the
/// inherited sockets. The originals are dropped here, so once every core has closed its
/// duplicate at shutdown the socket stops listening (unless the service manager keeps
/// its own copy, as systemd does, to queue connections for the next start).
pub(crate) fn per_core(
    plain: Vec<Source>,
    tls: Vec<(Source, TlsAcceptor)>,
    cores: usize,
) -> io::Result<Vec<Mutex<CoreListeners>>> {
    let all: Vec<(Source, Option<TlsAcceptor>)> = (plain.into_iter().map(|s| (s, None)))
        .chain(tls.into_iter().map(|(s, a)| (s, Some(a))))
        .collect();
    (0..cores)
        .map(|_| {
            let one = all.iter().map(|(source, tls)| {
                let socket = match source {
                    Source::Bind(addr) => CoreSocket::Bind(*addr),
                    Source::Inherited { fd, .. } => CoreSocket::Adopt(fd.try_clone()?),
                    Source::Steered { addr, group } => CoreSocket::Steered(*addr, group.clone()),
                };
                Ok((socket, tls.clone()))
            });
            Ok(Mutex::new(one.collect::<io::Result<_>>()?))
        })
        .collect()
}

/// Sockets bound elsewhere.
impl Builder {
    /// Adds a listening TCP socket bound elsewhere (by a service manager, see
    /// [`coreline_runtime::net::take_listen_fds`], or a parent process) for plain HTTP.
    /// Every core accepts from its own duplicate of it: one accept queue for all cores,
    /// where [`listen`](Self::listen) gives each core its own. Accepted connections get
    /// [`tcp_nodelay`](Self::tcp_nodelay), [`tcp_fastopen`](Self::tcp_fastopen) and
    /// [`notsent_lowat`](Self::notsent_lowat) (set on the socket); its backlog stays as
    /// bound. [`build`](Self::build) fails with `InvalidInput` naming the fd if it is not
    /// a listening TCP socket.
    pub fn listen_inherited(mut self, socket: OwnedFd) -> Self {
        self.inherited.push((Arc::new(socket), None));
        self
    }

    /// Like [`listen_inherited`](Self::listen_inherited), for HTTPS with `acceptor` (as
    /// [`tls_listen`](Self::tls_listen)).
    pub fn tls_listen_inherited(mut self, socket: OwnedFd, acceptor: TlsAcceptor) -> Self {
        self.inherited.push((Arc::new(socket), Some(acceptor)));
        self
    }
}
