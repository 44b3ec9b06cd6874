//! Receive stamps: a chunk that arrives while its reader is busy elsewhere keeps the loop
//! clock of the reap that delivered it (`RecvBuf::reaped_at_us`), not the time it is read.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use coreline_runtime::metrics::{local_snapshot, loop_clock_us};
use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{time, Builder, Runtime};

/// Runs `server` on one core of a runtime built by `builder`, with the connection that
/// `client` (on a thread of its own, given a blocking socket) makes to it.
fn one_connection<T, Fut>(
    builder: Builder,
    client: impl FnOnce(StdTcpStream) + Send + 'static,
    server: impl FnOnce(TcpStream) -> Fut + Send + 'static,
) -> T
where
    Fut: Future<Output = T> + 'static,
    T: Send,
{
    builder
        .build()
        .unwrap()
        .block_on(|| async move {
            let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let mut listener = TcpListener::bind(addr).unwrap();
            let addr = listener.local_addr();
            let client = std::thread::spawn(move || client(StdTcpStream::connect(addr).unwrap()));
            let stream = listener.accept().await.unwrap();
            let out = server(stream).await;
            client.join().unwrap();
            out
        })
        .unwrap()
}

/// A flag the client thread raises once it has written a chunk, so that the server waits
/// for the write itself instead of for a time it hopes is long enough.
fn written_flag() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    let flag = Arc::new(AtomicBool::new(false));
    (flag.clone(), flag)
}

/// The loop clocks around the second chunk of a connection, in µs.
struct LateRead {
    /// When the server had sent the ack that lets the client write the chunk.
    acked_at: u64,
    /// The chunk's stamp.
    stamp: u64,
    /// When the reader woke from its 60 ms sleep, the chunk already in its socket.
    woke_at: u64,
    /// When it read the chunk.
    read_at: u64,
}

/// Accepts one connection; its first chunk arms the multishot receive, then the client
/// sends a second one, and the reader sleeps 60 ms once the client says it is written.
fn late_read(metrics: bool) -> LateRead {
    let (written, seen) = written_flag();
    let client = move |mut s: StdTcpStream| {
        let mut ack = [0u8; 1];
        s.write_all(b"a").unwrap();
        s.read_exact(&mut ack).unwrap();
        s.write_all(b"b").unwrap();
        written.store(true, Ordering::SeqCst);
        s.read_exact(&mut ack).unwrap();
    };
    one_connection(
        Runtime::builder().metrics(metrics),
        client,
        |mut stream| async move {
            assert_eq!(&*stream.recv().await.unwrap().unwrap(), b"a");
            let (res, _) = stream.send_all(b"k".to_vec()).await;
            res.unwrap();
            let acked_at = loop_clock_us();
            while !seen.load(Ordering::SeqCst) {
                time::sleep(Duration::from_millis(1)).await;
            }
            // "b" is in the socket; its completion is reaped while this task sleeps.
            time::sleep(Duration::from_millis(60)).await;
            let woke_at = loop_clock_us();
            let second = stream.recv().await.unwrap().unwrap();
            assert_eq!(&*second, b"b");
            let read_at = loop_clock_us();
            let (res, _) = stream.send_all(b"k".to_vec()).await;
            res.unwrap();
            LateRead {
                acked_at,
                stamp: second.reaped_at_us(),
                woke_at,
                read_at,
            }
        },
    )
}

#[test]
fn a_chunk_read_late_keeps_the_stamp_of_its_reap() {
    let _w = common::watchdog(Duration::from_secs(30), "recv_stamp");
    let r = late_read(true);
    assert!(r.stamp > 0);
    // Stamped after the chunk could exist and before the sleep that followed its arrival
    // ended: by the reap that delivered it. A stamp taken at the read would equal read_at
    // (one clock reading per loop iteration), which is at least woke_at.
    assert!(
        r.acked_at <= r.stamp && r.stamp < r.woke_at && r.woke_at <= r.read_at,
        "acked {} µs, stamped {}, woke {}, read {}",
        r.acked_at,
        r.stamp,
        r.woke_at,
        r.read_at
    );
}

#[test]
fn no_stamp_with_metrics_off() {
    let _w = common::watchdog(Duration::from_secs(30), "recv_stamp_off");
    assert_eq!(late_read(false).stamp, 0);
}

/// With `rx_timestamps`: data still arrives intact through the recvmsg path (100 KiB and
/// the EOF), and a chunk that arrived before the core blocked for 40 ms records that wait
/// from its kernel receive timestamp to its reap (once the kernel stamps at all).
#[test]
fn kernel_receive_timestamps_record_the_wait_before_the_reap() {
    let _w = common::watchdog(Duration::from_secs(30), "rx_timestamps");
    let (written, seen) = written_flag();
    let client = move |mut s: StdTcpStream| {
        let mut ack = [0u8; 1];
        // "a" until the server says its chunks carry stamps ("g").
        for _ in 0..200 {
            s.write_all(b"a").unwrap();
            s.read_exact(&mut ack).unwrap();
            if &ack == b"g" {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&ack, b"g", "no chunk was ever stamped");
        s.write_all(b"b").unwrap();
        written.store(true, Ordering::SeqCst);
        s.read_exact(&mut ack).unwrap();
        let data: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
        s.write_all(&data).unwrap();
    };
    let builder = Runtime::builder().rx_timestamps(true);
    let (total, delays) = one_connection(builder, client, |mut stream| async move {
        // The kernel turns its timestamping on asynchronously (a static key flipped
        // from a work queue), so the first packets may come unstamped: wait for one.
        let stamped = || local_snapshot().histograms.rx_kernel_to_reap_us.len();
        loop {
            assert_eq!(&*stream.recv().await.unwrap().unwrap(), b"a");
            let reply = if stamped() > 0 { b"g" } else { b"k" };
            let (res, _) = stream.send_all(reply.to_vec()).await;
            res.unwrap();
            if stamped() > 0 {
                break;
            }
        }
        // The core blocks until "b" is written and 40 ms more: the kernel stamped it on
        // arrival, the completion is reaped after the block.
        while !seen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(&*stream.recv().await.unwrap().unwrap(), b"b");
        let (res, _) = stream.send_all(b"k".to_vec()).await;
        res.unwrap();
        let mut total = 0usize;
        while let Some(chunk) = stream.recv().await.unwrap() {
            for (i, &b) in chunk.iter().enumerate() {
                assert_eq!(b, ((total + i) % 251) as u8, "byte {}", total + i);
            }
            total += chunk.len();
        }
        (total, local_snapshot().histograms.rx_kernel_to_reap_us)
    });
    assert_eq!(total, 100 * 1024);
    assert!(delays.len() >= 3, "{} stamped chunks", delays.len());
    // At least the 40 ms block after "b" was written (less the histogram's rounding).
    assert!(delays.max() >= 39_000, "longest wait {} µs", delays.max());
    // Not garbage from mixing clocks: the block was 40 ms.
    assert!(delays.max() < 2_000_000, "longest wait {} µs", delays.max());
}
