//! TCP listener and stream behaviour against the real kernel: socket options, addresses,
//! shutdown, connect errors, and how core-selection errors read.
//!
//! `listener`: listening-socket options and drain. `runtime_setup`: runtime build errors
//! and ring flags. This file: streams.

mod listener;
mod runtime_setup;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{time, Cores, Runtime};

fn one_core() -> Runtime {
    Runtime::builder()
        .cores(Cores::Count(1))
        .build()
        .expect("one core")
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[test]
fn accepted_and_connected_streams_have_nodelay_and_right_addresses() {
    one_core()
        .block_on(|| async {
            let mut listener = TcpListener::bind(any_port()).unwrap();
            let addr = listener.local_addr();
            let client = TcpStream::connect(addr).await.unwrap();
            let server = listener.accept().await.unwrap();
            assert!(client.nodelay().unwrap(), "connect sets TCP_NODELAY");
            assert!(
                server.nodelay().unwrap(),
                "accepted sockets inherit TCP_NODELAY"
            );
            assert_eq!(client.peer_addr().unwrap(), addr);
            assert_eq!(server.local_addr().unwrap(), addr);
            assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        })
        .unwrap();
}

#[test]
fn shutdown_write_gives_the_peer_eof_and_recv_reports_it() {
    one_core()
        .block_on(|| async {
            let mut listener = TcpListener::bind(any_port()).unwrap();
            let mut client = TcpStream::connect(listener.local_addr()).await.unwrap();
            let server = listener.accept().await.unwrap();
            let (r, _) = server.send_all(b"bye".as_slice()).await;
            r.unwrap();
            server.shutdown(std::net::Shutdown::Write).await.unwrap();
            let mut got = Vec::new();
            while let Some(buf) = client.recv().await.unwrap() {
                got.extend_from_slice(&buf);
            }
            assert_eq!(got, b"bye");
            // EOF is sticky: asking again says EOF again.
            assert!(client.recv().await.unwrap().is_none());
        })
        .unwrap();
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let port = std::net::TcpListener::bind(any_port())
        .unwrap()
        .local_addr()
        .unwrap(); // dropped: nothing listens there now
    one_core()
        .block_on(|| async move {
            let err = TcpStream::connect(port).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        })
        .unwrap();
}

#[test]
fn interoperates_with_blocking_std_clients() {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        one_core()
            .block_on(|| async move {
                let mut listener = TcpListener::bind(any_port()).unwrap();
                tx.send(listener.local_addr()).unwrap();
                let mut s = listener.accept().await.unwrap();
                let mut total = Vec::new();
                while let Some(b) = s.recv().await.unwrap() {
                    total.extend_from_slice(&b);
                    if total.len() >= 100_000 {
                        break;
                    }
                }
                let (r, _) = s
                    .send_vectored(vec![total[..10].to_vec(), total[10..].to_vec()])
                    .await;
                assert_eq!(r.unwrap(), total.len());
            })
            .unwrap()
    });
    let addr = rx.recv().unwrap();
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    c.write_all(&payload).unwrap();
    let mut back = vec![0; payload.len()];
    c.read_exact(&mut back).unwrap();
    assert_eq!(back, payload);
    server.join().unwrap();
}

/// A plain peer on a free port that writes all of `payload` to the first connection it
/// accepts (in one `write_all`, as fast as the reader lets it), then closes.
fn peer_writing(payload: Vec<u8>) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind(any_port()).unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&payload).unwrap();
    });
    (addr, writer)
}

#[test]
fn a_reader_that_falls_behind_holds_no_provided_buffers_beyond_the_one_it_kept() {
    let expected: Vec<u8> = (0..8_000_000u32).map(|i| (i % 249) as u8).collect();
    let (addr, writer) = peer_writing(expected.clone());
    let (held, got) = one_core()
        .block_on(|| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let first = stream.recv().await.unwrap().expect("data");
            // Not reading: what arrives meanwhile must not stay in the ring.
            time::sleep(Duration::from_millis(300)).await;
            let held = coreline_runtime::buf_ring_stats().in_use;
            let mut got = first.to_vec();
            drop(first);
            while let Some(b) = stream.recv().await.unwrap() {
                got.extend_from_slice(&b);
            }
            (held, got)
        })
        .unwrap();
    writer.join().unwrap();
    // Chunks left unread past the owner's turn are copied out of the ring and the receive
    // cancelled: the reader holds only the buffer it kept (`first`). Without that an
    // 8 MB burst takes every one of the ring's 1,024 buffers.
    assert!(held <= 2, "a stalled reader holds {held} provided buffers");
    assert!(
        got == expected,
        "every byte arrives, in order, after throttling"
    );
}

#[test]
fn stopping_a_receive_the_driver_already_cancelled_sends_no_second_cancel_and_loses_nothing() {
    let expected: Vec<u8> = (0..1_000_000u32).map(|i| (i % 241) as u8).collect();
    let total = expected.len();
    let (addr, writer) = peer_writing(expected.clone());
    let (cancels, got) = one_core()
        .block_on(|| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut got = stream.recv().await.unwrap().expect("data").to_vec();
            // Not reading: the driver copies what arrives out of the ring and cancels the
            // receive (driver/evict.rs, or the queue limit in driver/completion.rs, which
            // may already have acted before the first chunk was read), as it does under a
            // proxy's response head.
            time::sleep(Duration::from_millis(100)).await;
            let before = coreline_runtime::core_stats().cancels;
            assert!(before >= 1, "the driver cancelled the unread receive");
            // The splice's way in (conn/splice_socket.rs): stop the receive, take what it
            // had, then read the rest another way.
            while let Some(b) = std::future::poll_fn(|cx| stream.poll_stop_recv(cx))
                .await
                .unwrap()
            {
                got.extend_from_slice(&b);
            }
            let cancels = coreline_runtime::core_stats().cancels - before;
            while got.len() < total {
                let (r, buf) = stream.read(Vec::with_capacity(65536)).await;
                if r.unwrap() == 0 {
                    break;
                }
                got.extend_from_slice(&buf);
            }
            (cancels, got)
        })
        .unwrap();
    writer.join().unwrap();
    // The eviction's cancel ends the receive; a second one from the stop would be one
    // more SQE per proxied response (seen as 2 ASYNC_CANCELs per request in proxy1m).
    assert_eq!(cancels, 0, "the stop sent {cancels} more cancels");
    assert!(got == expected, "every byte arrives, in order");
}
