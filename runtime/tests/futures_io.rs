//! `futures-io` traits over a TcpStream, round trips with a blocking std peer.
#![cfg(feature = "futures-io")]

use std::io::{Read, Write};

use coreline_runtime::net::{Compat, TcpStream};
use coreline_runtime::{Cores, Runtime};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn async_read_and_write_round_trip_through_the_adapter() {
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = peer.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap(); // until the adapter's close
        s.write_all(&all).unwrap();
        all.len()
    });
    let sent: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let expected = sent.clone();
    let back = Runtime::builder()
        .cores(Cores::Count(1))
        .build()
        .unwrap()
        .block_on(move || async move {
            let mut io = Compat::new(TcpStream::connect(addr).await.unwrap());
            for chunk in sent.chunks(7000) {
                io.write_all(chunk).await.unwrap();
            }
            io.close().await.unwrap();
            let mut back = Vec::new();
            io.read_to_end(&mut back).await.unwrap();
            back
        })
        .unwrap();
    assert_eq!(echo.join().unwrap(), expected.len());
    assert!(back == expected, "the echoed bytes match");
}
