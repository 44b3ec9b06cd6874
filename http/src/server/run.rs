//! [`Server`]: a built server, ready to run on its cores until shut down.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use coreline_runtime::net::{ListenOptions, SteerLoads};
use coreline_runtime::Cores;
use coreline_tls::TlsAcceptor;

use super::handle::ServerHandle;
use super::source::Source;
use super::start;
use crate::config::Config;
use crate::Handler;

/// An HTTP/1.1 server: one accept loop per listener on every core, each connection served
/// by a task on the core that accepted it.
///
/// ```no_run
/// use coreline_http::{Body, Server};
/// use http::{Request, Response};
///
/// let server = Server::builder()
///     .listen("127.0.0.1:8080".parse().unwrap())
///     .build(|| |_req: Request<Body>| async { Response::new(Body::from("hi\n")) })?;
/// let handle = server.handle(); // handle.shutdown() from any thread stops it
/// server.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server<F> {
    pub(super) addrs: Vec<Source>,
    /// The addresses of `addrs`, for [`Server::local_addrs`].
    pub(super) local: Vec<SocketAddr>,
    pub(super) tls: Vec<(Source, TlsAcceptor)>,
    pub(super) cores: Cores,
    pub(super) listen: ListenOptions,
    pub(super) config: Config,
    pub(super) factory: F,
    pub(super) handle: ServerHandle,
    /// The loads the cores publish when their listeners are steered.
    pub(super) steer: Option<Arc<SteerLoads>>,
}

impl<F, H> Server<F>
where
    F: Fn() -> H + Send + Sync,
    H: Handler,
{
    /// The addresses the server listens on for plain HTTP (port 0 resolved), those of
    /// [`Builder::listen_inherited`](super::Builder::listen_inherited) sockets last.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// The addresses the server listens on for HTTPS (port 0 resolved), in the order of
    /// the [`Builder::tls_listen`](super::Builder::tls_listen) calls, inherited sockets
    /// last.
    pub fn tls_local_addrs(&self) -> Vec<SocketAddr> {
        self.tls.iter().map(|(source, _)| source.addr()).collect()
    }

    /// The CPUs the server's cores will run on.
    pub fn cpus(&self) -> &[usize] {
        match &self.cores {
            Cores::List(cpus) => cpus,
            _ => &[],
        }
    }

    /// A handle to wait for readiness or shut the server down from another thread.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Runs the server on the calling thread until it is shut down through a
    /// [`ServerHandle`], then returns `Ok`. Errors: a core could not start (ring setup,
    /// CPU list), an address could not be bound on some core, or a core panicked.
    pub fn run(self) -> io::Result<()> {
        start::run(
            start::Listeners {
                plain: self.addrs,
                tls: self.tls,
                steer: self.steer,
            },
            self.cores,
            self.listen,
            self.config,
            &self.factory,
            &self.handle,
        )
    }
}

impl<F> std::fmt::Debug for Server<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .field("tls", &self.tls)
            .field("cores", &self.cores)
            .field("listen", &self.listen)
            .field("config", &self.config)
            .finish()
    }
}
