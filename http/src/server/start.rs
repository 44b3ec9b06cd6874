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

use coreline_runtime::net::{ListenOptions, TcpListener};
use coreline_runtime::{spawn_local, time, Cores, Runtime};

use super::config::Config;
use super::core::CoreShared;
use super::handle::ServerHandle;
use crate::metrics::{ProbeGuard, RunMetrics};
use crate::{conn, Handler};

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

pub(crate) fn run<F, H>(
    addrs: Vec<SocketAddr>,
    cores: Cores,
    backlog: u32,
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
        .build()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let metrics = match config.metrics {
        true => Some(RunMetrics::start(rt.cpus().len())?),
        false => None,
    };
    handle.starting(rt.cpus().len(), metrics.clone());
    let gate = Arc::new(StartGate {
        pending: AtomicUsize::new(rt.cpus().len()),
        error: Mutex::new(None),
    });
    let options = ListenOptions {
        backlog,
        ..ListenOptions::default()
    };
    let outcome = rt.run(|id| {
        // Runs on the core's thread: bind here so each core owns its SO_REUSEPORT socket.
        let listeners: io::Result<Vec<TcpListener>> = addrs
            .iter()
            .map(|&a| TcpListener::bind_with(a, &options))
            .collect();
        gate.report(listeners.as_ref().map(drop));
        let core = CoreShared::new(config);
        core.install(); // before any cross-core shutdown job can run here
        let handler = Rc::new(factory());
        // Each listener's accept-queue probe, dropped with it (see metrics::sampler).
        let listeners = listeners.map(|ls| {
            ls.into_iter()
                .map(|l| {
                    let probe = metrics.as_ref().and_then(|m| {
                        let probe = l.queue_probe().ok()?;
                        Some(m.sampler.watch(id.index, probe))
                    });
                    (l, probe)
                })
                .collect()
        });
        core_main(core, handler, listeners, gate.clone(), handle.clone())
    });
    handle.finished();
    for result in outcome.map_err(|e| io::Error::other(e.to_string()))? {
        result?;
    }
    Ok(())
}

/// One core's main task.
async fn core_main<H: Handler>(
    core: Rc<CoreShared>,
    handler: Rc<H>,
    listeners: io::Result<Vec<Listener>>,
    gate: Arc<StartGate>,
    handle: ServerHandle,
) -> io::Result<()> {
    let result = serve_core(&core, handler, listeners, &gate, &handle).await;
    if let Some(last) = crate::metrics::local_core_snapshot() {
        handle.core_final_metrics(last);
    }
    core.clear();
    CoreShared::uninstall();
    result
}

async fn serve_core<H: Handler>(
    core: &Rc<CoreShared>,
    handler: Rc<H>,
    listeners: io::Result<Vec<Listener>>,
    gate: &StartGate,
    handle: &ServerHandle,
) -> io::Result<()> {
    gate.wait_all().await?;
    let listeners = listeners?;
    let acceptors: Vec<_> = listeners
        .into_iter()
        .map(|l| spawn_local(accept_loop(l, core.clone(), handler.clone())))
        .collect();
    let sweeper = spawn_local(sweep_loop(core.clone()));
    if handle.core_ready(coreline_runtime::handle()) {
        core.begin_drain();
    }
    // Serve until shutdown begins.
    poll_fn(|cx| {
        if core.is_draining() {
            Poll::Ready(())
        } else {
            core.set_main_waker(cx.waker());
            Poll::Pending
        }
    })
    .await;
    for a in &acceptors {
        a.abort(); // drops the listener: no new connections on this core
    }
    // Let busy connections finish (idle ones close as they see the flag).
    let start = Instant::now();
    let grace = core.config.timeouts.shutdown_grace;
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
    Ok(())
}

/// A core's listener and, with metrics on, the probe the sampler reads its queue through.
type Listener = (TcpListener, Option<ProbeGuard>);

async fn accept_loop<H: Handler>(listener: Listener, core: Rc<CoreShared>, handler: Rc<H>) {
    let (mut listener, _probe) = listener; // both dropped when the loop is aborted
    loop {
        match listener.accept().await {
            Ok(stream) => drop(spawn_local(conn::serve(
                stream,
                core.clone(),
                handler.clone(),
            ))),
            Err(e) => {
                // Out of fds or memory: back off instead of spinning; the queue waits.
                eprintln!("coreline: accept failed: {e}");
                time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn sweep_loop(core: Rc<CoreShared>) {
    let mut ticks = time::interval(core.config.timeouts.sweep_period());
    loop {
        ticks.tick().await;
        core.sweep();
    }
}
