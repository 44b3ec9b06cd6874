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
use coreline_tls::TlsAcceptor;

use super::config::Config;
use super::core::CoreShared;
use super::handle::ServerHandle;
use super::refuse;
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

/// The addresses to listen on, resolved: plain HTTP, and HTTPS with its acceptor.
pub(crate) struct Listeners {
    pub(crate) plain: Vec<SocketAddr>,
    pub(crate) tls: Vec<(SocketAddr, TlsAcceptor)>,
}

/// One core's bound listener; `Some` acceptor (this core's copy) for HTTPS.
type Bound = (TcpListener, Option<Rc<TlsAcceptor>>);

pub(crate) fn run<F, H>(
    addrs: Listeners,
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
        .build()
        .map_err(|e| io::Error::other(e.to_string()))?;
    handle.starting(rt.cpus().len());
    let gate = Arc::new(StartGate {
        pending: AtomicUsize::new(rt.cpus().len()),
        error: Mutex::new(None),
    });
    let options = ListenOptions {
        backlog,
        ..ListenOptions::default()
    };
    let outcome = rt.run(|_core| {
        // Runs on the core's thread: bind here so each core owns its SO_REUSEPORT socket.
        let plain = addrs
            .plain
            .iter()
            .map(|&a| Ok((TcpListener::bind_with(a, &options)?, None)));
        let tls = addrs.tls.iter().map(|(a, acceptor)| {
            let listener = TcpListener::bind_with(*a, &options)?;
            Ok((listener, Some(Rc::new(acceptor.per_core()))))
        });
        let listeners: io::Result<Vec<Bound>> = plain.chain(tls).collect();
        gate.report(listeners.as_ref().map(drop));
        let core = CoreShared::new(config);
        core.install(); // before any cross-core shutdown job can run here
        let handler = Rc::new(factory());
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
    listeners: io::Result<Vec<Bound>>,
    gate: Arc<StartGate>,
    handle: ServerHandle,
) -> io::Result<()> {
    let result = serve_core(&core, handler, listeners, &gate, &handle).await;
    core.clear();
    CoreShared::uninstall();
    result
}

async fn serve_core<H: Handler>(
    core: &Rc<CoreShared>,
    handler: Rc<H>,
    listeners: io::Result<Vec<Bound>>,
    gate: &StartGate,
    handle: &ServerHandle,
) -> io::Result<()> {
    gate.wait_all().await?;
    let listeners = listeners?;
    let acceptors: Vec<_> = listeners
        .into_iter()
        .map(|(l, tls)| spawn_local(accept_loop(l, tls, core.clone(), handler.clone())))
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

async fn accept_loop<H: Handler>(
    mut listener: TcpListener,
    tls: Option<Rc<TlsAcceptor>>,
    core: Rc<CoreShared>,
    handler: Rc<H>,
) {
    let mut backoff = AcceptBackoff::default();
    loop {
        match listener.accept().await {
            Ok(stream) => {
                backoff.recovered();
                let max = core.config.limits.max_connections_per_core;
                if max > 0 && core.connections() >= max {
                    drop(spawn_local(refuse::refuse(stream)));
                    continue;
                }
                let (core, handler) = (core.clone(), handler.clone());
                match &tls {
                    None => drop(spawn_local(conn::serve(stream, core, handler))),
                    Some(acceptor) => drop(spawn_local(conn::serve_tls(
                        stream,
                        acceptor.clone(),
                        core,
                        handler,
                    ))),
                }
            }
            // Out of fds or memory: pause accepting (the kernel's queue holds the clients)
            // while the connections already open are served and, closing, free fds.
            Err(e) => time::sleep(backoff.failed(&e)).await,
        }
    }
}

/// The pause after a failed accept: 10 ms doubling to 1 s, as nginx pauses accepting for
/// 500 ms on EMFILE. One line is logged when accepting starts failing and one when it
/// works again, not one per retry.
#[derive(Default)]
struct AcceptBackoff {
    /// The current pause, zero while accepts succeed.
    pause: Duration,
    failures: u64,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn failed(&mut self, e: &io::Error) -> Duration {
        if self.failures == 0 {
            eprintln!("coreline: accept failed: {e}; pausing accepts until it works again");
        }
        self.failures += 1;
        self.pause = (self.pause * 2).clamp(Self::FIRST, Self::MAX);
        self.pause
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            eprintln!(
                "coreline: accepting again after {} failed attempt(s)",
                self.failures
            );
            *self = AcceptBackoff::default();
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
