//! Send rings (`ops::SendRing`): every queued buffer reaches a real peer socket, in order,
//! whether sent as bundles (`IORING_RECVSEND_BUNDLE`, where the kernel has them) or, the
//! fallback, one plain send per buffer; and a bundle's completion, which names a buffer of
//! the send ring, leaves the core's receive ring alone.

use std::io::Read;
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::mpsc;
use std::time::Duration;

use coreline_runtime::net::TcpListener;
use coreline_runtime::ops::SendRing;
use coreline_runtime::{buf_ring_stats, ring_info, AsSharedFd, Cores, Runtime};

/// Few buffers, so that the ring wraps around many times.
const BUFFERS: u16 = 16;
const BUF_SIZE: u32 = 4096;
/// Enough to fill the socket buffers, so that the peer's slow reads hold sends back.
const ROUNDS: usize = 200;

/// The byte at `offset` of the stream.
fn pattern(offset: usize) -> u8 {
    (offset.wrapping_mul(31) ^ (offset >> 9)) as u8
}

/// The chunk sizes of one round: mixed, the last ones short, all within a buffer.
fn chunk_sizes(round: usize) -> impl Iterator<Item = usize> {
    (0..usize::from(BUFFERS)).map(move |k| 1 + (round * 131 + k * 977) % BUF_SIZE as usize)
}

/// Serves one connection from a send ring (`bundled`: the kernel's choice, or plain
/// sends only); returns what the peer read and the expected stream.
fn round_trip(bundled: bool) -> (Vec<u8>, Vec<u8>) {
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let server = std::thread::spawn(move || {
        let rt = Runtime::builder().cores(Cores::Count(1)).build().unwrap();
        rt.block_on(|| async move {
            let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            addr_tx.send(listener.local_addr()).unwrap();
            let stream = listener.accept().await.unwrap();
            let mut ring = if bundled {
                SendRing::new(BUFFERS, BUF_SIZE).unwrap()
            } else {
                SendRing::unbundled(BUFFERS, BUF_SIZE).unwrap()
            };
            assert_eq!(ring.is_bundled(), bundled && ring_info().send_bundles);
            let mut offset = 0;
            for round in 0..ROUNDS {
                for size in chunk_sizes(round) {
                    let chunk: Vec<u8> = (offset..offset + size).map(pattern).collect();
                    assert!(ring.push(&chunk), "a free buffer for chunk at {offset}");
                    offset += size;
                }
                assert!(!ring.push(b"x"), "the ring is full");
                ring.send(stream.as_shared_fd()).await.unwrap();
                assert_eq!(ring.queued(), 0);
            }
            // Where the kernel has bundles it took them (no step down to plain sends).
            let info = ring_info();
            assert_eq!(ring.is_bundled(), bundled && info.bundles_supported);
            assert_eq!(info.send_bundles, info.bundles_supported);
            // A bundle's completion names a send-ring buffer: the receive ring kept all its own.
            assert_eq!(buf_ring_stats().in_use, 0);
            drop(stream);
            offset
        })
        .unwrap()
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let mut peer = StdStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut received = Vec::new();
    let mut buf = vec![0u8; 7000];
    loop {
        let n = peer.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
        if received.len() % 5 == 0 {
            // Slow now and then, so that sends wait on a full socket buffer.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let total = server.join().unwrap();
    (received, (0..total).map(pattern).collect())
}

#[test]
fn bundled_sends_arrive_in_order() {
    let (received, expected) = round_trip(true);
    assert_eq!(received.len(), expected.len());
    assert!(received == expected, "bytes out of order");
}

#[test]
fn plain_fallback_sends_arrive_in_order() {
    let (received, expected) = round_trip(false);
    assert_eq!(received.len(), expected.len());
    assert!(received == expected, "bytes out of order");
}
