//! [`Builder`]: the options of a [`Server`], checked and resolved by [`Builder::build`].

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use coreline_runtime::net::ListenOptions;
use coreline_runtime::Cores;
use coreline_tls::TlsAcceptor;
use http::HeaderValue;

use super::handle::ServerHandle;
use super::mode::{self, ListenerMode};
use super::source::Source;
use super::{fd_limit, start, Server};
use crate::config::{Config, FileBodyMethod, Limits, Timeouts};
use crate::{AccessLog, Handler};

/// Configures a [`Server`]. Start with [`Server::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    addrs: Vec<SocketAddr>,
    tls: Vec<(SocketAddr, TlsAcceptor)>,
    /// Sockets bound elsewhere, with the acceptor of the HTTPS ones.
    pub(super) inherited: Vec<(Arc<OwnedFd>, Option<TlsAcceptor>)>,
    cores: Cores,
    /// Backlog, `TCP_NODELAY`, `TCP_FASTOPEN` and `TCP_NOTSENT_LOWAT` of every listener
    /// (the runtime's defaults, but for `TCP_NOTSENT_LOWAT`: [`Self::DEFAULT_NOTSENT_LOWAT`]).
    listen: ListenOptions,
    limits: Limits,
    timeouts: Timeouts,
    metrics: bool,
    rx_timestamps: bool,
    busy_poll: std::time::Duration,
    share_ports: bool,
    listener_mode: ListenerMode,
    file_body: FileBodyMethod,
    server_header: Option<HeaderValue>,
    access_log: Option<AccessLog>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            addrs: Vec::new(),
            tls: Vec::new(),
            inherited: Vec::new(),
            cores: Cores::All,
            listen: ListenOptions::default().notsent_lowat(Some(Self::DEFAULT_NOTSENT_LOWAT)),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            metrics: false,
            rx_timestamps: false,
            busy_poll: std::time::Duration::ZERO,
            share_ports: false,
            listener_mode: ListenerMode::default(),
            file_body: FileBodyMethod::Auto,
            server_header: None,
            access_log: None,
        }
    }
}

impl Builder {
    /// The default [`notsent_lowat`](Self::notsent_lowat): 128 KiB. A thousand slow
    /// readers then pin about 130 MiB of kernel send queues rather than the gigabytes
    /// that push the whole TCP stack into memory pressure, and each wake-up of a fast
    /// download still moves 64 KiB or more.
    pub const DEFAULT_NOTSENT_LOWAT: u32 = 128 * 1024;

    /// Adds an address to listen on for plain HTTP (call again for more). Port 0 picks a
    /// free port, the same on every core; [`Server::local_addrs`] tells which. Default:
    /// `127.0.0.1:8080` if neither this nor [`tls_listen`](Self::tls_listen) is called.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.addrs.push(addr);
        self
    }

    /// Adds an address to listen on for HTTPS: its connections are served by the same
    /// handler, with the same limits and timeouts, after a TLS handshake with `acceptor`
    /// (which runs in the connection's task, so the accept loop never waits on it). Each
    /// core uses [`TlsAcceptor::per_core`] (its own session cache, shared ticket keys).
    /// The acceptor's handshake timeout is replaced by [`Timeouts::tls_handshake`].
    /// Plain and TLS listeners can be mixed freely; [`Server::tls_local_addrs`] tells
    /// the resolved addresses.
    pub fn tls_listen(mut self, addr: SocketAddr, acceptor: TlsAcceptor) -> Self {
        self.tls.push((addr, acceptor));
        self
    }

    /// Whether to share the listening ports with another process that listens on them with
    /// `SO_REUSEPORT`, such as the old server during a zero-downtime restart (default:
    /// off, and an address in use is an error). The kernel then spreads new connections
    /// over both processes until the old one stops accepting; see the README's restart
    /// procedure (`net.ipv4.tcp_migrate_req`). Addresses with port 0 are always checked.
    /// (The cores' listeners share each port among themselves with `SO_REUSEPORT` either
    /// way; this decides only whether a port another process listens on is accepted.)
    pub fn share_ports(mut self, on: bool) -> Self {
        self.share_ports = on;
        self
    }

    /// How the cores share each address they listen on (default
    /// [`ListenerMode::ReusePort`]: a socket and accept queue per core, the kernel's hash
    /// picking one per connection). See [`ListenerMode`].
    pub fn listener_mode(mut self, mode: ListenerMode) -> Self {
        self.listener_mode = mode;
        self
    }

    /// Which CPUs serve (default: all): one pinned thread, ring and `SO_REUSEPORT`
    /// listener per CPU.
    pub fn cores(mut self, cores: Cores) -> Self {
        self.cores = cores;
        self
    }

    /// Accept-queue length of each listener (default 4096; the kernel caps it at
    /// `net.core.somaxconn`, with a warning).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.listen.backlog = backlog;
        self
    }

    /// `TCP_NODELAY` on accepted connections (default on, like nginx's `tcp_nodelay on`).
    /// Off, the kernel's Nagle algorithm holds a small write back while earlier data is
    /// unacknowledged; against a client's delayed ACK that stalls a response written in
    /// several sends (e.g. a [`Body::from_stream`](crate::Body::from_stream) body, one send
    /// per chunk) for about 40 ms. Responses that leave in one send are not affected. Set on
    /// each listener, from which the kernel copies it to every accepted socket.
    pub fn tcp_nodelay(mut self, on: bool) -> Self {
        self.listen.nodelay = on;
        self
    }

    /// `TCP_FASTOPEN` on each listener with this many pending Fast Open requests (default
    /// `None`: off; like nginx's `listen ... fastopen=N`). A client holding a Fast Open
    /// cookie then sends its request in the SYN, and the server answers one round trip
    /// earlier. Needs the server bit of `net.ipv4.tcp_fastopen` (value 2 or 3); the counters
    /// `TcpExtTCPFastOpenPassive` and `…PassiveFail` show it working or failing.
    pub fn tcp_fastopen(mut self, queue: Option<u32>) -> Self {
        self.listen.fastopen = queue;
        self
    }

    /// `TCP_NOTSENT_LOWAT` on accepted connections, in bytes (default
    /// [`Self::DEFAULT_NOTSENT_LOWAT`]; `None`: the kernel's `net.ipv4.tcp_notsent_lowat`,
    /// unlimited by default). It bounds the data a connection queues in the kernel that
    /// the client has not been sent yet: a send (or a file's splice) stops there and
    /// waits, through the ring, for the client to take more, instead of filling a send
    /// buffer the kernel grows to megabytes on a fast path. Without it, a thousand
    /// clients reading a large file slowly pin gigabytes of kernel memory, and the TCP
    /// memory pressure that follows slows every other connection. Data in flight is not
    /// limited, so throughput to a fast client is not either. Set on each listener, from
    /// which the kernel copies it to every accepted socket: no syscall per connection.
    pub fn notsent_lowat(mut self, bytes: Option<u32>) -> Self {
        self.listen.notsent_lowat = bytes;
        self
    }

    /// `TCP_CONGESTION` on accepted connections, by name (default `None`: the kernel's
    /// `net.ipv4.tcp_congestion_control`), like HAProxy's `cc` bind option. Set on each
    /// listener, from which the kernel copies it to every accepted socket. A name the
    /// kernel does not offer fails the start with the list of those it does. Why a server
    /// may want it: on loopback, BBR (a common kernel default) paces every connection with
    /// a timer, and large responses settle in a slow or a fast mode from run to run
    /// (bench/README.md, "Large files"); `reno` or `cubic` do not pace.
    pub fn congestion_control(mut self, name: Option<String>) -> Self {
        self.listen.congestion_control = name;
        self
    }

    /// On listeners bound to a loopback address, with no [`congestion_control`] named:
    /// `reno` instead of a kernel default that paces each connection itself (BBR). Default
    /// off; `coreline serve` turns it on (`--congestion-control auto`). See
    /// `ListenOptions::unpaced_loopback` in the runtime for why.
    ///
    /// [`congestion_control`]: Self::congestion_control
    pub fn unpaced_loopback(mut self, on: bool) -> Self {
        self.listen.unpaced_loopback = on;
        self
    }

    /// Size and count limits (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Timeouts and minimum data rates (default [`Timeouts::default`]): among them
    /// [`Timeouts::min_body_rate`] and [`Timeouts::min_send_rate`], 240 bytes/s each after
    /// a 5 s [`Timeouts::min_rate_grace`] (0 turns a rate off), which end request bodies and
    /// responses that a client trickles.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// TLS handshakes one core runs at once ([`Limits::max_handshakes_per_core`], default
    /// 256; 0 = unlimited): one more closes the oldest pending handshake. Sets that field of
    /// the limits, so call it after [`limits`](Self::limits).
    pub fn max_handshakes(mut self, per_core: usize) -> Self {
        self.limits.max_handshakes_per_core = per_core;
        self
    }

    /// The bound on graceful shutdown ([`Timeouts::shutdown_grace`], default 10 s): the
    /// listeners close, requests in flight are answered with `Connection: close`, idle
    /// connections half-close and are read until the client closes, and whatever is still
    /// open when this passes is dropped. Sets that field of the timeouts, so call it after
    /// [`timeouts`](Self::timeouts).
    pub fn drain_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeouts.shutdown_grace = timeout;
        self
    }

    /// Records latency histograms and counters (default off; see [`crate::metrics`]):
    /// the HTTP ones per connection and request, the runtime's per loop iteration, and
    /// each listener's accept-queue depth every 100 ms. Read them with
    /// [`ServerHandle::metrics_snapshot`]. Off, neither the server nor its runtime records
    /// anything.
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// With [`metrics`](Self::metrics) on, also records how long received data waited
    /// between the kernel's receive timestamp (`SO_TIMESTAMPING`, software) and the reap
    /// of its completion: the `rx_wait` histogram (default off; without metrics, nothing).
    /// See [`coreline_runtime::Builder::rx_timestamps`] for what it costs.
    pub fn rx_timestamps(mut self, on: bool) -> Self {
        self.rx_timestamps = on;
        self
    }

    /// How long an idle core polls for completions before it sleeps (default zero: at
    /// once). See [`coreline_runtime::Builder::busy_poll`] for what it buys and costs.
    pub fn busy_poll(mut self, window: std::time::Duration) -> Self {
        self.busy_poll = window;
        self
    }

    /// How file bodies are sent on plain connections (default [`FileBodyMethod::Auto`]:
    /// by size). The other methods use one way for every size, to measure them against
    /// each other.
    pub fn file_body_method(mut self, method: FileBodyMethod) -> Self {
        self.file_body = method;
        self
    }

    /// The `Server` field of every response (default `None`: no `Server` field). The
    /// server writes this field itself, so a handler's own `Server` header is dropped
    /// either way. The `coreline` binary sends `Server: coreline`.
    pub fn server_header(mut self, value: Option<HeaderValue>) -> Self {
        self.server_header = value;
        self
    }

    /// Writes one access-log line per response to `log` (default `None`: none, at the
    /// cost of one branch per response). See [`AccessLog`] for the formats and how the
    /// lines reach the file without blocking a core.
    pub fn access_log(mut self, log: Option<AccessLog>) -> Self {
        self.access_log = log;
        self
    }

    /// Checks that every address can be listened on (and resolves port 0), and returns
    /// the server, ready to [`run`](Server::run). `factory` runs once on each core's
    /// thread to build that core's handler, so the handler need not be `Send`.
    ///
    /// Fails with the OS error (e.g. `AddrInUse`), its message naming the address, if
    /// an address cannot be bound, and with `InvalidInput` if the CPU selection is not
    /// usable or an inherited socket is not a listening TCP socket.
    pub fn build<F, H>(self, factory: F) -> io::Result<Server<F>>
    where
        F: Fn() -> H + Send + Sync,
        H: Handler,
    {
        // Resolve the CPU list now, so a bad one is reported before anything starts.
        let cpus = coreline_runtime::Runtime::builder()
            .cores(self.cores.clone())
            .build()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
            .cpus()
            .to_vec();
        // Socket options the kernel may refuse, reported now rather than by every core.
        self.listen.check()?;
        // Each address must be free (port 0 resolved), unless shared on purpose.
        let shared = self.share_ports;
        let check_free = |a: SocketAddr| match shared && a.port() != 0 {
            true => Ok(a),
            false => start::probe(a),
        };
        let wanted = if self.addrs.is_empty() && self.tls.is_empty() && self.inherited.is_empty() {
            vec![SocketAddr::from(([127, 0, 0, 1], 8080))]
        } else {
            self.addrs
        };
        let mut addrs = wanted
            .into_iter()
            .map(|a| check_free(a).map(Source::Bind))
            .collect::<io::Result<Vec<_>>>()?;
        let handshake = self.timeouts.tls_handshake;
        let mut tls = self
            .tls
            .into_iter()
            .map(|(addr, acceptor)| {
                Ok((
                    Source::Bind(check_free(addr)?),
                    acceptor.with_handshake_timeout(handshake),
                ))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut bound: Vec<&mut Source> = addrs
            .iter_mut()
            .chain(tls.iter_mut().map(|(s, _)| s))
            .collect();
        let steer = mode::arrange(self.listener_mode, &mut bound, cpus.len(), &self.listen)?;
        for (fd, acceptor) in self.inherited {
            let source = Source::inherited(fd, &self.listen)?;
            match acceptor {
                None => addrs.push(source),
                Some(a) => tls.push((source, a.with_handshake_timeout(handshake))),
            }
        }
        if let Some(warning) = fd_limit::low_limit_warning() {
            log::warn!("{warning}");
        }
        Ok(Server {
            local: addrs.iter().map(Source::addr).collect(),
            addrs,
            tls,
            cores: coreline_runtime::Cores::List(cpus),
            listen: self.listen,
            config: Config {
                limits: self.limits,
                timeouts: self.timeouts,
                file_body: self.file_body,
                metrics: self.metrics,
                rx_timestamps: self.rx_timestamps,
                busy_poll: self.busy_poll,
                server_header: self.server_header,
                access_log: self.access_log,
            },
            factory,
            handle: ServerHandle::default(),
            steer,
        })
    }
}

#[cfg(feature = "tower")]
impl Builder {
    /// The limits set so far (the tower adapter reads the body limit).
    pub(crate) fn limits_set(&self) -> &Limits {
        &self.limits
    }
}

impl Server<()> {
    /// Starts configuring a server.
    pub fn builder() -> Builder {
        Builder::default()
    }
}
