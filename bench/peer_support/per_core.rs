//! The thread-per-core shape the tokio peers (`hyper-peer`, `axum-peer`) share with coreline,
//! so that a comparison measures the HTTP stacks and not the threading model: one std
//! thread per CPU, each pinned to its CPU, each with its own `SO_REUSEPORT` listener
//! (backlog 4096, `TCP_NODELAY` set on the listener and inherited by accepted sockets) and
//! its own tokio `current_thread` runtime. Included by path by both peers' `main.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

use coreline_runtime::Cores;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use socket2::{Domain, Protocol, Socket, Type};

const BACKLOG: i32 = 4096;

/// Parses `ADDR [CPUS]`, binds one listener per CPU (all before any thread starts, so a port
/// in use is reported once with nothing half-started), then runs `serve(cpu, listener)` on
/// a thread pinned to each CPU and waits for them. `name` prefixes messages and threads.
pub fn main<F, Fut>(name: &'static str, serve: F) -> ExitCode
where
    F: Fn(usize, tokio::net::TcpListener) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>>,
{
    let usage = format!("usage: {name} ADDR [CPUS]   e.g. {name} 127.0.0.1:8080 0");
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{name}: '{addr}' is not an IP:PORT address: {e}");
            return ExitCode::from(2);
        }
    };
    let cpus = match cpu_list(args.next().as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(extra) = args.next() {
        eprintln!("{name}: unexpected argument '{extra}'\n{usage}");
        return ExitCode::from(2);
    }
    let mut listeners = Vec::with_capacity(cpus.len());
    for _ in &cpus {
        match listener(addr) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                eprintln!("{name}: cannot listen on {addr}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let threads: Vec<_> = cpus
        .into_iter()
        .zip(listeners)
        .map(|(cpu, listener)| {
            let serve = serve.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{cpu}"))
                .spawn(move || core_main(cpu, listener, serve))
        })
        .collect();
    let mut failed = false;
    for t in threads {
        let result = match t {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err("a core thread panicked".into())),
            Err(e) => Err(format!("cannot start a thread: {e}")),
        };
        if let Err(e) = result {
            eprintln!("{name}: {e}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One core: pin the thread, then run `serve` with the listener on a current-thread runtime.
fn core_main<F, Fut>(cpu: usize, listener: std::net::TcpListener, serve: F) -> Result<(), String>
where
    F: Fn(usize, tokio::net::TcpListener) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut set = CpuSet::new();
    set.set(cpu)
        .map_err(|e| format!("CPU {cpu} is out of range: {e}"))?;
    sched_setaffinity(Pid::from_raw(0), &set)
        .map_err(|e| format!("cannot pin a thread to CPU {cpu}: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime for CPU {cpu}: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot register the listener on CPU {cpu}: {e}"))?;
        serve(cpu, listener).await
    })
}

/// The CPUs to run on: the list given (coreline's `--cpus` syntax), or every CPU this
/// process may use.
fn cpu_list(spec: Option<&str>) -> Result<Vec<usize>, String> {
    let allowed = || -> Result<Vec<usize>, String> {
        let set =
            sched_getaffinity(Pid::from_raw(0)).map_err(|e| format!("sched_getaffinity: {e}"))?;
        Ok((0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect())
    };
    let cpus = match spec.map(Cores::parse_list) {
        None | Some(Ok(Cores::All)) => allowed()?,
        Some(Ok(Cores::List(list))) => list,
        Some(Ok(Cores::Count(n))) => allowed()?.into_iter().take(n).collect(),
        Some(Err(e)) => return Err(e.to_string()),
    };
    if cpus.is_empty() {
        return Err("no CPUs selected".into());
    }
    Ok(cpus)
}

/// One `SO_REUSEPORT` listening socket (the kernel spreads connections across the threads').
fn listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nodelay(true)?; // inherited by accepted sockets on Linux
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}
