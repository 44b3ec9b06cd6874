//! [`ListenerMode`]: how the cores share each address they bind, and setting it up at
//! build time (binding the shared sockets, loading the steering programs).

use std::io;
use std::sync::Arc;

use coreline_runtime::net::{ListenOptions, SteerGroup, SteerLoads, TcpListener};

use super::source::Source;

/// How the cores share each address given to [`Builder::listen`](super::Builder::listen)
/// and [`Builder::tls_listen`](super::Builder::tls_listen). Sockets bound elsewhere
/// (`listen_inherited`) are one socket shared by all cores whatever the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ListenerMode {
    /// Each core binds its own `SO_REUSEPORT` socket (its own accept queue) and the kernel
    /// picks one per new connection by hashing its addresses and ports. No contention,
    /// but the hash knows nothing of load: a slow core still gets its share.
    #[default]
    ReusePort,
    /// One listening socket, one accept queue, a multishot accept on it from every core.
    /// Linux wakes one waiting accept per new connection, the one armed first, and a
    /// ring's accept that was woken while its core is busy still takes the connection
    /// once the core gets to it: the queue is shared, but a busy core is not passed over
    /// (kernel-tuning experiment 7 measures it).
    Shared,
    /// Per-core sockets as `ReusePort`, with a BPF program (`SO_ATTACH_REUSEPORT_EBPF`)
    /// that sends each new connection to the core with the lowest load: its open
    /// connections (as each core publishes them) plus those sent to it that it has not
    /// accepted yet, among the cores that do not lag: a core whose recent wait for a CPU
    /// (it runs only in rare slices), or the wait of the connections sent to it and not
    /// accepted (it is not running now), is above twice the lowest plus
    /// [`SteerLoads::LAG_SLACK`] is passed over. While a core lags, the other cores also
    /// accept from its socket, so the connections sent to it before its lag showed do not
    /// wait for it. If the kernel refuses the program (it needs `CAP_BPF` or
    /// `CAP_SYS_ADMIN`), one warning is logged and the server runs as `ReusePort`.
    Steered,
}

impl ListenerMode {
    /// The mode's name as the `coreline` binary spells it: `reuseport`, `shared`,
    /// `steered`.
    pub fn name(self) -> &'static str {
        match self {
            ListenerMode::ReusePort => "reuseport",
            ListenerMode::Shared => "shared",
            ListenerMode::Steered => "steered",
        }
    }
}

/// Sets up `mode` for the addresses among `sources` that the cores bind: in `Shared`
/// mode binds each once, in `Steered` mode loads a program per address. Returns the loads
/// the cores publish to when steering. Steering refused: one warning, `ReusePort`.
pub(super) fn arrange(
    mode: ListenerMode,
    sources: &mut [&mut Source],
    cores: usize,
    options: &ListenOptions,
) -> io::Result<Option<Arc<SteerLoads>>> {
    match mode {
        ListenerMode::ReusePort => Ok(None),
        ListenerMode::Shared => {
            for source in sources.iter_mut() {
                if let Source::Bind(addr) = **source {
                    let fd = TcpListener::bind_socket(addr, options).map_err(|e| {
                        io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
                    })?;
                    **source = Source::Inherited {
                        addr,
                        fd: Arc::new(fd),
                    };
                }
            }
            Ok(None)
        }
        ListenerMode::Steered => match steer(sources, cores) {
            Ok(loads) => Ok(Some(loads)),
            Err(e) => {
                log::warn!(
                    "coreline: warning: listener mode steered is unavailable ({e}); \
                     using reuseport"
                );
                Ok(None)
            }
        },
    }
}

/// Loads one steering program per bound address; changes nothing if any load fails.
fn steer(sources: &mut [&mut Source], cores: usize) -> io::Result<Arc<SteerLoads>> {
    let loads = SteerLoads::new(cores)?;
    let mut groups = Vec::new();
    for source in sources.iter() {
        if let Source::Bind(addr) = **source {
            groups.push((addr, Arc::new(SteerGroup::new(loads.clone())?)));
        }
    }
    let mut groups = groups.into_iter();
    for source in sources.iter_mut() {
        if matches!(**source, Source::Bind(_)) {
            let (addr, group) = groups.next().expect("one group per bound address");
            **source = Source::Steered { addr, group };
        }
    }
    Ok(loads)
}
