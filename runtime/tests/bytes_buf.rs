//! `bytes::Bytes` and `bytes::BytesMut` as owned buffers of ring operations, against the
//! real kernel and a blocking std peer.
#![cfg(feature = "bytes")]

use std::io::{Read, Write};

use bytes::{Bytes, BytesMut};
use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{Cores, Runtime};

fn one_core() -> Runtime {
    Runtime::builder().cores(Cores::Count(1)).build().unwrap()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// A blocking std peer that reads one connection to its end.
fn std_reader() -> (std::net::SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = peer.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    (addr, reader)
}

#[test]
fn a_one_mib_bytes_is_sent_intact_and_given_back_unchanged() {
    let expected = pattern(1 << 20);
    let data = Bytes::from(expected.clone());
    let (addr, reader) = std_reader();
    let ptr = data.as_ptr();
    let back = one_core()
        .block_on(move || async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (res, back) = stream.send_all(data).await;
            res.unwrap();
            back
        })
        .unwrap();
    assert_eq!(back.as_ptr(), ptr, "the same storage comes back: no copy");
    let got = reader.join().unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the peer received the bytes intact");
}

#[test]
fn a_static_bytes_and_a_bytes_mut_can_be_sent() {
    let (addr, reader) = std_reader();
    one_core()
        .block_on(move || async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (res, _) = stream.send_all(Bytes::from_static(b"static ")).await;
            res.unwrap();
            let (res, _) = stream.send_all(BytesMut::from(&b"and mut"[..])).await;
            res.unwrap();
        })
        .unwrap();
    assert_eq!(reader.join().unwrap(), b"static and mut");
}

#[test]
fn read_fills_the_spare_capacity_of_a_bytes_mut() {
    let received = one_core()
        .block_on(|| async {
            let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr();
            let writer = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.write_all(b"hello from std").unwrap();
            });
            let stream = listener.accept().await.unwrap();
            let mut buf = BytesMut::with_capacity(64);
            buf.extend_from_slice(b">");
            while buf.len() < 1 + 14 {
                let (res, back) = stream.read(buf).await;
                assert!(res.unwrap() > 0, "EOF before all bytes arrived");
                buf = back;
            }
            writer.join().unwrap();
            buf.freeze()
        })
        .unwrap();
    assert_eq!(&received[..], b">hello from std");
}
