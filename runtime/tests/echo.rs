//! Echo on all cores: 1,000 concurrent clients × 100 round trips, every byte checked, and
//! the connections land on both cores' SO_REUSEPORT listeners.

mod common;

use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Rng;
use coreline_runtime::net::{ListenOptions, TcpListener, TcpStream};
use coreline_runtime::{current_core, spawn_local, time, Cores, Runtime};

const CLIENTS: usize = 1_000;
const ROUNDS: usize = 100;
const MAX_PAYLOAD: usize = 16 * 1024;

/// Shared counters of the server runtime.
struct ServerState {
    addr: SocketAddr,
    /// Connections accepted, per core.
    accepted: Vec<AtomicUsize>,
    /// Connections whose echo task is alive now, and the most ever alive at once.
    open: AtomicUsize,
    max_open: AtomicUsize,
    /// Cores whose listener is bound.
    ready: AtomicUsize,
    stop: AtomicBool,
}

/// Decrements `open` however the echo task ends (EOF, error, or dropped at shutdown).
struct OpenGuard(Arc<ServerState>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn echo(mut stream: TcpStream, guard: OpenGuard) {
    while let Ok(Some(data)) = stream.recv().await {
        // Copy out so the provided buffer goes back to the ring before the send waits.
        let bytes = data.to_vec();
        drop(data);
        if stream.send_all(bytes).await.0.is_err() {
            break;
        }
    }
    drop(guard);
}

/// One core of the server: bind the shared port, accept until told to stop.
async fn serve(state: Arc<ServerState>) -> std::io::Result<()> {
    let index = current_core().index;
    let mut listener = TcpListener::bind_with(state.addr, &ListenOptions::default())?;
    state.ready.fetch_add(1, Ordering::SeqCst);
    let acceptor = {
        let state = state.clone();
        spawn_local(async move {
            loop {
                let stream = listener.accept().await?;
                state.accepted[index].fetch_add(1, Ordering::SeqCst);
                let now_open = state.open.fetch_add(1, Ordering::SeqCst) + 1;
                state.max_open.fetch_max(now_open, Ordering::SeqCst);
                spawn_local(echo(stream, OpenGuard(state.clone())));
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        })
    };
    while !state.stop.load(Ordering::SeqCst) && !acceptor.is_finished() {
        time::sleep(Duration::from_millis(5)).await;
    }
    if acceptor.is_finished() {
        return acceptor
            .await
            .map_err(|e| std::io::Error::other(format!("acceptor task failed: {e}")))?;
    }
    Ok(()) // returning ends the core; teardown drops the acceptor and any echo task
}

/// Waits (cooperatively) until `counter` reaches `target`.
async fn wait_for(counter: &AtomicUsize, target: usize) {
    while counter.load(Ordering::SeqCst) < target {
        time::sleep(Duration::from_millis(2)).await;
    }
}

/// Size of round `round` of a client: small, medium and multi-buffer payloads (the server
/// and the client both receive into 4 KiB provided buffers), always including the extremes.
fn payload_len(rng: &mut Rng, round: usize) -> usize {
    match round {
        0 => 1,
        r if r == ROUNDS - 1 => MAX_PAYLOAD,
        _ => match rng.range(0, 99) {
            0..=69 => rng.range(1, 512) as usize,
            70..=94 => rng.range(513, 4096) as usize,
            _ => rng.range(4097, MAX_PAYLOAD as u64) as usize,
        },
    }
}

struct ClientSync {
    connected: AtomicUsize,
    finished: AtomicUsize,
}

/// One client: connect, wait until all clients are connected, 100 checked round trips,
/// wait until all are done (so all 1,000 connections are open at once on the server), then
/// half-close and expect a clean EOF with no stray bytes.
async fn client(id: usize, addr: SocketAddr, sync: Arc<ClientSync>) -> Result<usize, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("client {id}: connect: {e}"))?;
    sync.connected.fetch_add(1, Ordering::SeqCst);
    wait_for(&sync.connected, CLIENTS).await;

    let mut rng = Rng::new(id as u64);
    let mut bytes = 0;
    for round in 0..ROUNDS {
        let len = payload_len(&mut rng, round);
        let mut payload = vec![0u8; len];
        rng.fill(&mut payload);
        let (res, payload) = stream.send_all(payload).await;
        res.map_err(|e| format!("client {id} round {round}: send {len} bytes: {e}"))?;
        let mut got = 0;
        while got < len {
            let chunk = stream
                .recv()
                .await
                .map_err(|e| format!("client {id} round {round}: recv: {e}"))?
                .ok_or_else(|| format!("client {id} round {round}: EOF after {got}/{len}"))?;
            let end = got + chunk.len();
            if end > len {
                return Err(format!(
                    "client {id} round {round}: got {end} bytes back for {len} sent"
                ));
            }
            if let Some(at) = (0..chunk.len()).find(|&i| chunk[i] != payload[got + i]) {
                return Err(format!(
                    "client {id} round {round}: byte {} of {len} differs: sent {:#04x}, got {:#04x}",
                    got + at,
                    payload[got + at],
                    chunk[at]
                ));
            }
            got = end;
        }
        bytes += len;
    }

    sync.finished.fetch_add(1, Ordering::SeqCst);
    wait_for(&sync.finished, CLIENTS).await;
    stream
        .shutdown(Shutdown::Write)
        .await
        .map_err(|e| format!("client {id}: shutdown: {e}"))?;
    match stream.recv().await {
        Ok(None) => Ok(bytes),
        Ok(Some(extra)) => Err(format!(
            "client {id}: {} stray bytes after echo",
            extra.len()
        )),
        Err(e) => Err(format!("client {id}: recv after shutdown: {e}")),
    }
}

#[test]
fn echo_1000_clients_100_round_trips_on_all_cores() {
    let _watchdog = common::watchdog(Duration::from_secs(120), "echo test");
    // Server and clients live in this process: 2 fds per connection, plus rings and slack.
    common::raise_nofile(4 * CLIENTS as u64 + 256);

    let server_rt = Runtime::builder()
        .cores(Cores::All)
        .thread_name("echo-server")
        .build()
        .expect("server runtime");
    let cores = server_rt.cpus().len();
    assert!(
        cores >= 2,
        "this test checks the spread over cores and needs at least 2 CPUs, has {cores}"
    );

    // SO_REUSEPORT needs every core on one fixed port: pick a free one up front.
    let addr: SocketAddr = format!("127.0.0.1:{}", common::free_port())
        .parse()
        .unwrap();
    let state = Arc::new(ServerState {
        addr,
        accepted: (0..cores).map(|_| AtomicUsize::new(0)).collect(),
        open: AtomicUsize::new(0),
        max_open: AtomicUsize::new(0),
        ready: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let server = {
        let state = state.clone();
        std::thread::spawn(move || server_rt.run(|_| serve(state.clone())))
    };
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            state.ready.load(Ordering::SeqCst) == cores || server.is_finished()
        }),
        "server cores did not bind in time"
    );
    assert!(
        !server.is_finished(),
        "server stopped early: {:?}",
        server.join().map(|r| r.map(|v| format!("{v:?}")))
    );

    let started = Instant::now();
    let sync = Arc::new(ClientSync {
        connected: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
    });
    let client_rt = Runtime::builder()
        .cores(Cores::All)
        .thread_name("echo-client")
        .build()
        .expect("client runtime");
    let client_cores = client_rt.cpus().len();
    let results = client_rt
        .run(|core| {
            let sync = sync.clone();
            async move {
                let handles: Vec<_> = (core.index..CLIENTS)
                    .step_by(client_cores)
                    .map(|id| spawn_local(client(id, addr, sync.clone())))
                    .collect();
                let mut out = Vec::with_capacity(handles.len());
                for h in handles {
                    out.push(h.await.unwrap_or_else(|e| Err(format!("client task: {e}"))));
                }
                out
            }
        })
        .expect("client runtime run");
    let elapsed = started.elapsed();

    let outcomes: Vec<Result<usize, String>> = results.into_iter().flatten().collect();
    assert_eq!(outcomes.len(), CLIENTS);
    let errors: Vec<&String> = outcomes.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} of {CLIENTS} clients failed, e.g.: {:#?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
    let bytes: usize = outcomes.iter().map(|r| *r.as_ref().unwrap()).sum();

    // Every client saw EOF, so every server echo task has ended by now.
    state.stop.store(true, Ordering::SeqCst);
    let server_out = server.join().expect("server thread");
    let server_out = server_out.expect("server runtime");
    for (core, r) in server_out.iter().enumerate() {
        assert!(r.is_ok(), "server core {core} failed: {r:?}");
    }

    let accepted: Vec<usize> = state
        .accepted
        .iter()
        .map(|a| a.load(Ordering::SeqCst))
        .collect();
    eprintln!(
        "echo: {CLIENTS} clients x {ROUNDS} round trips, {bytes} bytes each way, in {elapsed:?}; \
         accepted per core {accepted:?}, max open at once {}",
        state.max_open.load(Ordering::SeqCst)
    );
    assert_eq!(
        accepted.iter().sum::<usize>(),
        CLIENTS,
        "accepted {accepted:?}"
    );
    for (core, &n) in accepted.iter().enumerate() {
        assert!(n > 0, "core {core} accepted no connection: {accepted:?}");
    }
    assert_eq!(
        state.max_open.load(Ordering::SeqCst),
        CLIENTS,
        "all connections should have been open on the server at once"
    );
    assert_eq!(
        state.open.load(Ordering::SeqCst),
        0,
        "echo tasks left behind"
    );
}
