//! TCP on direct descriptors: `FixedListener` needs the ring's table, accepted streams
//! echo every byte, and a closed stream's slot is given back for the next connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use coreline_runtime::net::{FixedListener, FixedStream, ListenOptions};
use coreline_runtime::{ring_info, spawn_local, Cores, Runtime};

/// Table slots per ring; each round opens this many connections at once.
const SLOTS: u32 = 4;
const ROUNDS: usize = 5;

async fn echo(mut stream: FixedStream, open: Arc<AtomicUsize>) {
    while let Ok(Some(data)) = stream.recv().await {
        let bytes = data.to_vec();
        drop(data);
        if stream.send_all(bytes).await.0.is_err() {
            break;
        }
    }
    drop(stream);
    open.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn fixed_streams_echo_and_give_their_slots_back() {
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let open = Arc::new(AtomicUsize::new(0));
    let server_open = open.clone();
    std::thread::spawn(move || {
        let rt = Runtime::builder()
            .cores(Cores::Count(1))
            .fixed_files(SLOTS)
            .build()
            .unwrap();
        rt.block_on(|| async move {
            assert_eq!(ring_info().fixed_files, SLOTS);
            let addr = "127.0.0.1:0".parse().unwrap();
            let mut listener = FixedListener::bind_with(addr, &ListenOptions::default())?;
            addr_tx.send(listener.local_addr()).unwrap();
            loop {
                let stream = listener.accept().await?;
                server_open.fetch_add(1, Ordering::SeqCst);
                drop(spawn_local(echo(stream, server_open.clone())));
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        })
        .unwrap()
        .unwrap();
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // More connections over the test than the table has slots: closed ones must be reused.
    for round in 0..ROUNDS {
        let mut clients: Vec<StdStream> = (0..SLOTS)
            .map(|_| StdStream::connect(addr).unwrap())
            .collect();
        for (i, c) in clients.iter_mut().enumerate() {
            let msg = format!("round {round} client {i}").repeat(100);
            c.write_all(msg.as_bytes()).unwrap();
            let mut back = vec![0; msg.len()];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, msg.as_bytes());
        }
        drop(clients);
        let deadline = Instant::now() + Duration::from_secs(10);
        while open.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "server streams did not end");
            std::thread::sleep(Duration::from_millis(5));
        }
        // The slots close at the core's next enter: let it run one.
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fixed_listener_needs_the_table() {
    let rt = Runtime::builder().cores(Cores::Count(1)).build().unwrap();
    let err = rt
        .block_on(|| async move {
            assert_eq!(ring_info().fixed_files, 0);
            let addr = "127.0.0.1:0".parse().unwrap();
            FixedListener::bind_with(addr, &ListenOptions::default()).map(drop)
        })
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
}
