//! The optional receive-buffer modes and registered-buffer sends: every byte arrives in
//! order, and every provided buffer is back in the ring once the connections are gone.
//!
//! - receive bundles: chunks larger than one buffer (copied out at the reap);
//! - incremental consumption: many chunks share a buffer, and the echo task keeps the
//!   previous chunk alive while it reads the next, so pieces of one buffer outlive each
//!   other in every order;
//! - registered sends: ranges of a registered buffer, on real fds and direct descriptors.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::mpsc;
use std::time::Duration;

use coreline_runtime::net::{FixedListener, ListenOptions, TcpListener, TcpStream};
use coreline_runtime::ops::{self, RegisteredBuf};
use coreline_runtime::{
    buf_ring_stats, ring_info, spawn_local, time, AsSharedFd, Builder, Cores, RecvBuf,
    RegisteredSendOp, Runtime,
};

const CLIENTS: usize = 16;
const BYTES_PER_CLIENT: usize = 300_000;
/// Few buffers, so that the ring wraps around many times and runs dry now and then.
const BUFFERS: u16 = 32;
const BUF_SIZE: u32 = 4096;

/// Echoes every chunk, holding the previous one until the next has arrived.
async fn echo(mut stream: TcpStream) {
    let mut previous: Option<RecvBuf> = None;
    while let Ok(Some(data)) = stream.recv().await {
        let bytes = data.to_vec();
        previous = Some(data);
        if stream.send_all(bytes).await.0.is_err() {
            break;
        }
    }
    drop(previous);
}

/// The byte at `offset` of every client's stream.
fn pattern(client: usize, offset: usize) -> u8 {
    (offset.wrapping_mul(31) ^ client.wrapping_mul(7) ^ (offset >> 9)) as u8
}

/// Runs an echo server with `builder`, checks `check_info` on its ring, and has
/// [`CLIENTS`] clients stream patterned bytes through it; returns the buffers still in use
/// once all connections closed.
fn echo_round_trip(builder: Builder, check_info: fn(&coreline_runtime::RingInfo)) -> usize {
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = builder.cores(Cores::Count(1)).build().unwrap();
        rt.block_on(|| async move {
            check_info(&ring_info());
            let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            addr_tx.send(listener.local_addr()).unwrap();
            let acceptor = spawn_local(async move {
                loop {
                    let stream = listener.accept().await.unwrap();
                    drop(spawn_local(echo(stream)));
                }
            });
            while done_rx.try_recv().is_err() {
                time::sleep(Duration::from_millis(5)).await;
            }
            // The echo tasks see EOF and end; then every buffer must be back.
            for _ in 0..200 {
                if buf_ring_stats().in_use == 0 {
                    break;
                }
                time::sleep(Duration::from_millis(5)).await;
            }
            drop(acceptor);
            buf_ring_stats().in_use
        })
        .unwrap()
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            std::thread::spawn(move || {
                let mut stream = StdStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let mut reader = stream.try_clone().unwrap();
                let writer = std::thread::spawn(move || {
                    let mut sent = 0;
                    let mut size = 1 + client * 13;
                    while sent < BYTES_PER_CLIENT {
                        // Sizes from a byte to several buffers, so receives vary.
                        size = (size * 7 + 101) % 20_000 + 1;
                        let n = size.min(BYTES_PER_CLIENT - sent);
                        let chunk: Vec<u8> = (sent..sent + n).map(|i| pattern(client, i)).collect();
                        stream.write_all(&chunk).unwrap();
                        sent += n;
                    }
                    stream.shutdown(std::net::Shutdown::Write).unwrap();
                });
                let mut received = Vec::with_capacity(BYTES_PER_CLIENT);
                reader.read_to_end(&mut received).unwrap();
                writer.join().unwrap();
                assert_eq!(received.len(), BYTES_PER_CLIENT, "client {client}");
                for (i, &b) in received.iter().enumerate() {
                    assert_eq!(b, pattern(client, i), "client {client}, byte {i}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    done_tx.send(()).unwrap();
    server.join().unwrap()
}

#[test]
fn bundles_deliver_every_byte_and_give_every_buffer_back() {
    let builder = Runtime::builder()
        .recv_buffers(BUFFERS, BUF_SIZE)
        .recv_bundles(true);
    let in_use = echo_round_trip(builder, |info| {
        assert_eq!(info.recv_bundles, info.bundles_supported);
    });
    assert_eq!(in_use, 0);
}

#[test]
fn incremental_buffers_deliver_every_byte_and_give_every_buffer_back() {
    let builder = Runtime::builder()
        .recv_buffers(BUFFERS, BUF_SIZE)
        .incremental_recv_buffers(true);
    let in_use = echo_round_trip(builder, |info| {
        eprintln!("incremental_buffers={}", info.incremental_buffers);
    });
    assert_eq!(in_use, 0);
}

/// Bytes 0..=255 repeated: any range is recognisable.
fn canned() -> Vec<u8> {
    (0..10_000).map(|i| i as u8).collect()
}

/// The ranges the server sends, in order.
const RANGES: [(usize, usize); 4] = [(0, 10_000), (5, 6), (300, 9_000), (9_999, 10_000)];

fn expected() -> Vec<u8> {
    let all = canned();
    RANGES
        .iter()
        .flat_map(|&(a, b)| all[a..b].to_vec())
        .collect()
}

fn read_all(addr: SocketAddr) -> Vec<u8> {
    let mut s = StdStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    got
}

#[test]
fn registered_buffer_ranges_arrive_on_fds_and_direct_descriptors() {
    let (addr_tx, addr_rx) = mpsc::channel::<(SocketAddr, SocketAddr)>();
    let server = std::thread::spawn(move || {
        let rt = Runtime::builder()
            .cores(Cores::Count(1))
            .fixed_files(8)
            .build()
            .unwrap();
        rt.block_on(|| async move {
            let buf = RegisteredBuf::new(canned()).unwrap();
            assert!(RegisteredBuf::new(Vec::new()).is_err());
            assert_eq!(
                ring_info().registered_buffers,
                u32::from(buf.is_registered())
            );
            let mut plain = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let mut fixed =
                FixedListener::bind_with("127.0.0.1:0".parse().unwrap(), &ListenOptions::default())
                    .unwrap();
            addr_tx
                .send((plain.local_addr(), fixed.local_addr()))
                .unwrap();
            let stream = plain.accept().await.unwrap();
            for (a, b) in RANGES {
                ops::send_registered(stream.as_shared_fd(), &buf, a..b)
                    .await
                    .unwrap();
            }
            drop(stream);
            let stream = fixed.accept().await.unwrap();
            for (a, b) in RANGES {
                ops::send_registered_fixed(stream.fixed_fd(), &buf, a..b)
                    .await
                    .unwrap();
            }
            drop(stream);
            // A kernel with SEND_ZC takes a registered buffer at least that way.
            let info = ring_info();
            eprintln!("registered sends: {:?}", info.registered_send);
            if buf.is_registered() && info.send_zc {
                assert_ne!(info.registered_send, RegisteredSendOp::Plain);
            }
            // Let the ring close the direct descriptor.
            time::sleep(Duration::from_millis(20)).await;
        })
        .unwrap();
    });
    let (plain, fixed) = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(read_all(plain), expected());
    assert_eq!(read_all(fixed), expected());
    server.join().unwrap();
}
