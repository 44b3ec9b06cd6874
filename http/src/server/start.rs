//! Starting the cores: bind every listener on every core, agree that all did, accept,
//! sweep deadlines, and drain on shutdown.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use coreline_runtime::net::{ListenOptions, SteerLoads, TcpListener};
use coreline_runtime::{spawn_local, time, Cores, Runtime};
use coreline_tls::TlsAcceptor;

use super::accept::{accept_loop, Listener, Stop};
use super::gather::local_core_snapshot;
use super::handle::ServerHandle;
use super::handoff::adopt_loop;
use super::source::{self, CoreSocket, Source};
use super::steal::{steal_loop, Steal};
use crate::access_log::FLUSH_EVERY;
use crate::config::Config;
use crate::conn::ConnRegistry;
use crate::metrics::RunMetrics;
use crate::Handler;

/// Checks that `addr` is free by binding it without `SO_REUSEPORT` (which fails if anyone
/// listens there, reuse-port or not) and returns it with port 0 resolved. The probe socket
/// is closed at once; the cores then bind the concrete address with `SO_REUSEPORT`.
pub(crate) fn probe(addr: SocketAddr) -> io::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    probe.local_addr()
}

/// Lets the cores agree that every one of them bound its listeners before any serves.
struct StartGate {
    pending: AtomicUsize,
    error: Mutex<Option<(io::ErrorKind, String)>>,
}

impl StartGate {
    fn report(&self, result: Result<(), &io::Error>) {
        if let Err(e) = result {
            let mut error = self.error.lock().unwrap_or_else(|p| p.into_inner());
            error.get_or_insert_with(|| (e.kind(), e.to_string()));
        }
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }

    /// Waits (polling: this happens once, at start) until all cores reported.
    async fn wait_all(&self) -> io::Result<()> {
        while self.pending.load(Ordering::SeqCst) > 0 {
            time::sleep(Duration::from_millis(1)).await;
        }
        match &*self.error.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }
}

/// The listeners: plain HTTP, and HTTPS with its acceptor.
pub(crate) struct Listeners {
    pub(crate) plain: Vec<Source>,
    pub(crate) tls: Vec<(Source, TlsAcceptor)>,
    /// The loads the cores publish when their listeners are steered.
    pub(crate) steer: Option<Arc<SteerLoads>>,
}

pub(crate) fn run<F, H>(
    addrs: Listeners,
    cores: Cores,
    options: ListenOptions,
    config: Config,
    factory: &F,
    handle: &ServerHandle,
) -> io::Result<()>
where
    F: Fn() -> H + Send + Sync,
    H: Handler,
{
    let rt = Runtime::builder()
        .cores(cores)
        .thread_name("coreline-http")
        .metrics(config.metrics)
        .rx_timestamps(config.metrics && config.rx_timestamps)
        .busy_poll(config.busy_poll)
        .build()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let addrs_steer = addrs.steer;
    let per_core = source::per_core(addrs.plain, addrs.tls, rt.cpus().len())?;
    let metrics = match config.metrics {
        true => Some(RunMetrics::start(rt.cpus().len())?),
        false => None,
    };
    handle.starting(rt.cpus().len(), metrics.clone());
    let gate = Arc::new(StartGate {
        pending: AtomicUsize::new(rt.cpus().len()),
        error: Mutex::new(None),
    });
    let outcome = rt.run(|id| {
        // Runs on the core's thread: bind here so each core owns its SO_REUSEPORT socket
        // (or adopts its own duplicate of an inherited one).
        // Each listener's accept-queue probe goes with it (see metrics::sampler).
        let bind = |socket: CoreSocket, tls: Option<TlsAcceptor>| {
            let (listener, group) = match socket {
                CoreSocket::Bind(addr) => (TcpListener::bind_with(addr, &options)?, None),
                CoreSocket::Adopt(fd) => (TcpListener::from_std(fd.into())?, None),
                CoreSocket::Steered(addr, group) => {
                    let listener = TcpListener::bind_with(addr, &options)?;
                    group.join(id.index, &listener)?;
                    (listener, Some((group, id.index)))
                }
            };
            let probe = metrics.as_ref().and_then(|m| {
                let probe = listener.queue_probe().ok()?;
                Some(m.sampler.watch(id.index, probe))
            });
            Ok(Listener {
                listener,
                tls: tls.map(|a| Rc::new(a.per_core())),
                _probe: probe,
                group,
            })
        };
        let mine =
            std::mem::take(&mut *per_core[id.index].lock().unwrap_or_else(|p| p.into_inner()));
        let listeners: io::Result<Vec<Listener>> = mine
            .into_iter()
            .map(|(socket, tls)| bind(socket, tls))
            .collect();
        gate.report(listeners.as_ref().map(drop));
        let core = ConnRegistry::new(config.clone());
        if let Some(loads) = &addrs_steer {
            core.publish_loads_to(loads.clone(), id.index);
        }
        core.install(); // before any cross-core shutdown job can run here
        let handler = Rc::new(factory());
        core_main(core, handler, listeners, gate.clone(), handle.clone())
    });
    handle.finished();
    if let Some(log) = &config.access_log {
        log.wait_written(Duration::from_secs(5)); // (each core handed over its last lines)
    }
    for result in outcome.map_err(|e| io::Error::other(e.to_string()))? {
        result?;
    }
    Ok(())
}

/// One core's main task.
async fn core_main<H: Handler>(
    core: Rc<ConnRegistry>,
    handler: Rc<H>,
    listeners: io::Result<Vec<Listener>>,
    gate: Arc<StartGate>,
    handle: ServerHandle,
) -> io::Result<()> {
    let result = serve_core(&core, handler, listeners, &gate, &handle).await;
    core.flush_access_log();
    if let Some(last) = local_core_snapshot() {
        handle.core_final_metrics(last);
    }
    core.clear();
    ConnRegistry::uninstall();
    result
}

async fn serve_core<H: Handler>(
    core: &Rc<ConnRegistry>,
    handler: Rc<H>,
    listeners: io::Result<Vec<Listener>>,
    gate: &StartGate,
    handle: &ServerHandle,
) -> io::Result<()> {
    gate.wait_all().await?;
    let listeners = listeners?;
    let mut acceptors = Vec::new();
    for l in listeners {
        if let Some((group, me)) = &l.group {
            let steal = Steal {
                group: group.clone(),
                me: *me,
                tls: l.tls.clone(),
                core: core.clone(),
                handler: handler.clone(),
            };
            let stop = Rc::new(Stop::default());
            acceptors.push((stop.clone(), spawn_local(adopt_loop(steal.clone(), stop))));
            let stop = Rc::new(Stop::default());
            acceptors.push((stop.clone(), spawn_local(steal_loop(steal, stop))));
        }
        let stop = Rc::new(Stop::default());
        let task = spawn_local(accept_loop(l, stop.clone(), core.clone(), handler.clone()));
        acceptors.push((stop, task));
    }
    let sweeper = spawn_local(sweep_loop(core.clone()));
    let log_flusher = core
        .access_log
        .is_some()
        .then(|| spawn_local(flush_loop(core.clone())));
    if handle.core_ready(coreline_runtime::handle()) {
        core.begin_drain();
    }
    // Serve until shutdown is asked for.
    poll_fn(|cx| {
        if core.is_stopping() {
            Poll::Ready(())
        } else {
            core.set_main_waker(cx.waker());
            Poll::Pending
        }
    })
    .await;
    // Stop accepting first: each loop hands over what the kernel already accepted for it,
    // then closes its socket (a loop taking over a peer's queue just stops; one adopting
    // the connections a lagging peer hands over serves what is left in its inbox). Only then are clients told `Connection: close`, so that a
    // client reconnecting at once is refused by the kernel (or reaches another process on
    // the port) instead of waiting in this listener's queue to be reset when it closes.
    let start = Instant::now();
    let grace = core.config.timeouts.shutdown_grace;
    for (stop, _) in &acceptors {
        stop.stop();
    }
    for (_, task) in acceptors {
        if time::timeout(grace, task).await.is_err() {
            break; // (a loop stuck in its accept back-off: the rest close with the core)
        }
    }
    core.drain_connections();
    // Let busy connections finish (idle ones get a last short wait for a request already
    // on its way, then half-close and read until the client closes).
    while core.connections() > 0 {
        let left = grace.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        let _ = time::timeout(
            left.min(Duration::from_millis(100)),
            poll_fn(|cx| {
                if core.connections() == 0 {
                    Poll::Ready(())
                } else {
                    core.set_main_waker(cx.waker());
                    Poll::Pending
                }
            }),
        )
        .await;
    }
    sweeper.abort();
    if let Some(task) = log_flusher {
        task.abort();
    }
    Ok(())
}

/// Hands the core's access-log lines to the writer every [`FLUSH_EVERY`], so a quiet
/// core's lines do not wait for its buffer to fill.
async fn flush_loop(core: Rc<ConnRegistry>) {
    let mut ticks = time::interval(FLUSH_EVERY);
    loop {
        ticks.tick().await;
        core.flush_access_log();
    }
}

async fn sweep_loop(core: Rc<ConnRegistry>) {
    let mut ticks = time::interval(core.config.timeouts.sweep_period());
    loop {
        ticks.tick().await;
        core.sweep();
        core.check_peers();
    }
}
