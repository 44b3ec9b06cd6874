//! `UdpSocket` through the ring against a blocking std peer on the real kernel.

use std::net::SocketAddr;
use std::time::Duration;

use coreline_runtime::net::UdpSocket;
use coreline_runtime::{Cores, Runtime};

fn one_core() -> Runtime {
    Runtime::builder().cores(Cores::Count(1)).build().unwrap()
}

/// A std socket that echoes `n` datagrams back to their senders, upper-cased.
fn std_echo(n: usize) -> (SocketAddr, std::thread::JoinHandle<Vec<SocketAddr>>) {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let addr = peer.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut senders = Vec::new();
        let mut buf = [0u8; 2048];
        for _ in 0..n {
            let (len, from) = peer.recv_from(&mut buf).unwrap();
            peer.send_to(&buf[..len].to_ascii_uppercase(), from)
                .unwrap();
            senders.push(from);
        }
        senders
    });
    (addr, thread)
}

#[test]
fn send_to_and_recv_from_exchange_datagrams_with_addresses() {
    let (peer, echo) = std_echo(3);
    let local = one_core()
        .block_on(move || async move {
            let socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            for word in ["one", "two", "three"] {
                let (sent, _) = socket.send_to(word.as_bytes().to_vec(), peer).await;
                assert_eq!(sent.unwrap(), word.len());
                let (got, buf) = socket.recv_from(Vec::with_capacity(2048)).await;
                let (len, from) = got.unwrap();
                assert_eq!(from, peer);
                assert_eq!(&buf[..len], word.to_ascii_uppercase().as_bytes());
            }
            socket.local_addr().unwrap()
        })
        .unwrap();
    assert_eq!(echo.join().unwrap(), vec![local; 3]);
}

#[test]
fn a_connected_socket_sends_and_receives_without_addresses() {
    let (peer, echo) = std_echo(1);
    one_core()
        .block_on(move || async move {
            let socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            socket.connect(peer).unwrap();
            assert_eq!(socket.peer_addr().unwrap(), peer);
            let (sent, _) = socket.send(&b"datagram"[..]).await;
            assert_eq!(sent.unwrap(), 8);
            let (got, buf) = socket.recv(Vec::with_capacity(64)).await;
            assert_eq!(got.unwrap(), 8);
            assert_eq!(buf, b"DATAGRAM");
        })
        .unwrap();
    echo.join().unwrap();
}
