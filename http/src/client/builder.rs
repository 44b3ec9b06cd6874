//! [`ClientBuilder`]: a client's settings (timeouts, pool bounds, TLS), from which each
//! core builds its own [`Client`].

use std::rc::Rc;
use std::time::Duration;

use coreline_tls::TlsConnector;

use super::pool::Pool;
use super::{Client, Inner};

/// The client's settings; [`build`](Self::build) one [`Client`] per core from it.
///
/// `Clone + Send + Sync`: make it once, move a clone into the handler factory.
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    pub(super) connect_timeout: Duration,
    pub(super) read_timeout: Duration,
    pub(super) write_timeout: Duration,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    pub(super) max_response_head: usize,
    pub(super) splice_min: u64,
    pub(super) tls: Option<TlsConnector>,
    pub(super) unpaced_loopback: bool,
}

impl Default for ClientBuilder {
    /// 5 s connect, 30 s read and write timeouts; 32 idle connections per upstream for
    /// 60 s; response heads up to 64 KiB; bodies spliced from
    /// [`SPLICE_MIN`](Self::SPLICE_MIN); HTTPS trusting the system's roots.
    fn default() -> Self {
        ClientBuilder {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_idle_per_host: 32,
            idle_timeout: Duration::from_secs(60),
            max_response_head: 64 * 1024,
            splice_min: Self::SPLICE_MIN,
            tls: None,
            unpaced_loopback: false,
        }
    }
}

impl ClientBuilder {
    /// The default [`splice_min`](Self::splice_min), 4 KiB: from there up splicing cost
    /// the proxy less CPU per response than reading and sending at every size measured
    /// (bench/results/proxy-splice.md); smaller bodies nearly always arrive with their
    /// head and are sent from memory anyway.
    pub const SPLICE_MIN: u64 = 4096;

    /// How long resolving the name and the TCP connect may take together.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long each wait for response bytes (head or body) may take.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The read timeout set.
    pub(crate) fn configured_read_timeout(&self) -> Duration {
        self.read_timeout
    }

    /// How long each send of request bytes may take.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Most idle keep-alive connections kept per upstream (0: no pooling).
    pub fn max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// How long an idle connection is kept for reuse before it is closed.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Most bytes in a response head; a larger one is an
    /// [`Error::InvalidResponse`](super::Error::InvalidResponse).
    pub fn max_response_head(mut self, max: usize) -> Self {
        self.max_response_head = max;
        self
    }

    /// Response bodies with a Content-Length of at least this many bytes, on plain
    /// (not TLS) connections, can be spliced: returned as a server response body over
    /// plain HTTP, they move upstream socket → pipe → client socket in the kernel instead
    /// of through user space. Read with [`Body::chunk`](crate::Body::chunk) (or sent over
    /// TLS), they are read as usual. `u64::MAX` turns splicing off.
    pub fn splice_min(mut self, bytes: u64) -> Self {
        self.splice_min = bytes;
        self
    }

    /// The TLS client configuration for `https://` upstreams (e.g.
    /// [`TlsConnector::from_ca_file`] for a private CA). Without one, HTTPS requests
    /// trust the system's roots ([`TlsConnector::system_roots`]).
    pub fn tls(mut self, connector: TlsConnector) -> Self {
        self.tls = Some(connector);
        self
    }

    /// Connections to a loopback address use TCP congestion control `reno` where the
    /// kernel's default is BBR (off by default). BBR paces every connection with a timer of
    /// its own and runs its model on each acknowledgement, which on loopback buys nothing;
    /// the server's listeners do the same with
    /// [`Builder::unpaced_loopback`](crate::Builder::unpaced_loopback). One
    /// `getsockopt` and one `setsockopt` per new connection; pooled connections keep it.
    pub fn unpaced_loopback(mut self, on: bool) -> Self {
        self.unpaced_loopback = on;
        self
    }

    /// A client with these settings and an empty pool, for the current core.
    pub fn build(&self) -> Client {
        Client {
            inner: Rc::new(Inner {
                pool: Rc::new(Pool::new(self.max_idle_per_host, self.idle_timeout)),
                config: self.clone(),
            }),
        }
    }
}
