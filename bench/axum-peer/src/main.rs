//! `axum-peer`: the axum example's router (http/examples/axum/routes.rs, included as is) on
//! `axum::serve`, which `coreline-bench compare` measures against the same router on
//! coreline (the `axum` example).
//!
//! ```text
//! cargo build --release -p coreline-axum-peer
//! target/release/axum-peer ADDR [CPUS]      e.g. axum-peer 127.0.0.1:3000 0
//! ```
//!
//! The shape of bench/hyper-peer, so that the comparison measures the HTTP stacks and not
//! the threading model: one std thread per CPU in `CPUS` (all CPUs this process may use
//! when omitted), each pinned to its CPU, each running a tokio `current_thread` runtime (one
//! worker on one core) with its own `SO_REUSEPORT` listener (backlog 4096, `TCP_NODELAY`
//! inherited from the listener), served by `axum::serve`. Every thread serves a clone of
//! one router, so the state is shared as on coreline. The process runs until it is killed.

#[path = "../../../http/examples/axum/routes.rs"]
#[allow(dead_code, unreachable_pub)]
mod routes;

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use coreline_runtime::Cores;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use socket2::{Domain, Protocol, Socket, Type};

const BACKLOG: i32 = 4096;
const USAGE: &str = "usage: axum-peer ADDR [CPUS]   e.g. axum-peer 127.0.0.1:3000 0";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("axum-peer: '{addr}' is not an IP:PORT address: {e}");
            return ExitCode::from(2);
        }
    };
    let cpus = match cpu_list(args.next().as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("axum-peer: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(extra) = args.next() {
        eprintln!("axum-peer: unexpected argument '{extra}'\n{USAGE}");
        return ExitCode::from(2);
    }
    // Every listener bound before any thread starts: a port in use is reported once.
    let mut listeners = Vec::with_capacity(cpus.len());
    for _ in &cpus {
        match listener(addr) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                eprintln!("axum-peer: cannot listen on {addr}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let router = routes::router();
    let threads: Vec<_> = cpus
        .into_iter()
        .zip(listeners)
        .map(|(cpu, listener)| {
            let router = router.clone();
            std::thread::Builder::new()
                .name(format!("axum-peer-{cpu}"))
                .spawn(move || core_main(cpu, listener, router))
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
            eprintln!("axum-peer: {e}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
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

/// One core: pin the thread, then `axum::serve` on a current-thread runtime forever.
fn core_main(cpu: usize, listener: std::net::TcpListener, router: Router) -> Result<(), String> {
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
        axum::serve(listener, router)
            .await
            .map_err(|e| format!("axum::serve on CPU {cpu}: {e}"))
    })
}
