//! `hyper-peer`: the thread-per-core hyper server coreline is measured against.
//!
//! ```text
//! cargo build --release -p coreline-hyper-peer
//! target/release/hyper-peer ADDR [CPUS]      e.g. hyper-peer 127.0.0.1:8080 0
//! ```
//!
//! The same shape as coreline and the runtime's examples, so that the comparison measures the
//! HTTP stacks and not the threading model: one std thread per CPU in `CPUS` (a list such as
//! `0`, `0,1` or `0-3`; all CPUs this process may use when omitted), each pinned to its CPU
//! with `sched_setaffinity`, each running its own tokio `current_thread` runtime with its own
//! `SO_REUSEPORT` listener (backlog 4096, `TCP_NODELAY` set on the listener and inherited by
//! accepted sockets). Connections are served by hyper's HTTP/1 server (`http1::Builder`) with
//! keep-alive and `pipeline_flush` on, so that pipelined responses leave in one write as
//! coreline's and nginx's do.
//!
//! Routes, as coreline's binary and the reference nginx config have them:
//! - `/plaintext` and `/hello` (any method) → `200`, `Hello, World!`, `text/plain`;
//! - `/echo` (any method) → `200` with the request body, `application/octet-stream`;
//! - anything else → `404`.
//!
//! Every response carries `Server: hyper`; hyper adds `Date` (cached per thread).
//! The process runs until it is killed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use coreline_runtime::Cores;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use socket2::{Domain, Protocol, Socket, Type};

const HELLO: &[u8] = b"Hello, World!";
const BACKLOG: i32 = 4096;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("usage: hyper-peer ADDR [CPUS]   e.g. hyper-peer 127.0.0.1:8080 0");
        return ExitCode::from(2);
    };
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hyper-peer: '{addr}' is not an IP:PORT address: {e}");
            return ExitCode::from(2);
        }
    };
    let cpus = match cpu_list(args.next().as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hyper-peer: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(extra) = args.next() {
        eprintln!("hyper-peer: unexpected argument '{extra}'");
        return ExitCode::from(2);
    }

    // Bind every listener before starting any thread: a bad address or a port in use is
    // reported once, here, with nothing left half-started.
    let mut listeners = Vec::with_capacity(cpus.len());
    for _ in &cpus {
        match listener(addr) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                eprintln!("hyper-peer: cannot listen on {addr}: {e}");
                return ExitCode::from(2);
            }
        }
    }

    let threads: Vec<_> = cpus
        .into_iter()
        .zip(listeners)
        .map(|(cpu, listener)| {
            std::thread::Builder::new()
                .name(format!("hyper-peer-{cpu}"))
                .spawn(move || core_main(cpu, listener))
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
            eprintln!("hyper-peer: {e}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The CPUs to run on: the list given (same syntax as coreline's `--cpus`), or every CPU this
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

/// One core: pin the thread, then accept and serve on a current-thread runtime forever.
fn core_main(cpu: usize, listener: std::net::TcpListener) -> Result<(), String> {
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
        let mut http = http1::Builder::new();
        http.keep_alive(true)
            .pipeline_flush(true)
            .timer(TokioTimer::new());
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let conn = http.serve_connection(TokioIo::new(stream), service_fn(handle));
                    // Connection errors (resets, malformed requests) end that connection only.
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                Err(e) => {
                    // EMFILE and the like: back off briefly rather than spin.
                    eprintln!("hyper-peer: accept on CPU {cpu} failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    })
}

/// The routes.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (body, status, content_type) = match req.uri().path() {
        "/plaintext" | "/hello" => (Bytes::from_static(HELLO), StatusCode::OK, "text/plain"),
        "/echo" => match req.into_body().collect().await {
            Ok(collected) => (
                collected.to_bytes(),
                StatusCode::OK,
                "application/octet-stream",
            ),
            Err(_) => (
                Bytes::from_static(b"bad request body\n"),
                StatusCode::BAD_REQUEST,
                "text/plain",
            ),
        },
        _ => (
            Bytes::from_static(b"not found\n"),
            StatusCode::NOT_FOUND,
            "text/plain",
        ),
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static("hyper"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}
