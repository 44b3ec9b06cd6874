//! Unix stream sockets through the ring, against std peers on the real kernel.

use std::io::{Read, Write};

use coreline_runtime::net::{UnixListener, UnixStream};
use coreline_runtime::{spawn_local, Cores, Runtime};

fn one_core() -> Runtime {
    Runtime::builder().cores(Cores::Count(1)).build().unwrap()
}

fn socket_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("coreline-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

async fn recv_exactly(stream: &mut UnixStream, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        got.extend_from_slice(&stream.recv().await.unwrap().expect("EOF too early"));
    }
    got
}

#[test]
fn a_listener_serves_std_clients() {
    let path = socket_path("listener");
    let client_path = path.clone();
    let serve_path = path.clone();
    let server = std::thread::spawn(move || {
        one_core()
            .block_on(move || async move {
                let mut listener = UnixListener::bind(&serve_path).unwrap();
                assert_eq!(
                    listener.local_addr().unwrap().as_pathname(),
                    Some(&*serve_path)
                );
                for _ in 0..2 {
                    let mut stream = listener.accept().await.unwrap();
                    let question = recv_exactly(&mut stream, 4).await;
                    let mut answer = question.clone();
                    answer.reverse();
                    stream.send_all(answer).await.0.unwrap();
                }
            })
            .unwrap()
    });
    for _ in 0..2 {
        let mut client = loop {
            match std::os::unix::net::UnixStream::connect(&client_path) {
                Ok(c) => break c,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        };
        client.write_all(b"abcd").unwrap();
        let mut answer = [0u8; 4];
        client.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"dcba");
    }
    server.join().unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn connect_reaches_a_std_listener_and_read_fills_an_owned_buffer() {
    let path = socket_path("connect");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf.to_ascii_uppercase()).unwrap();
    });
    let connect_path = path.clone();
    one_core()
        .block_on(move || async move {
            let stream = UnixStream::connect(&connect_path).await.unwrap();
            assert_eq!(
                stream.peer_addr().unwrap().as_pathname(),
                Some(&*connect_path)
            );
            stream.send_all(&b"hello"[..]).await.0.unwrap();
            let mut buf = Vec::with_capacity(16);
            while buf.len() < 5 {
                let (n, back) = stream.read(buf).await;
                assert!(n.unwrap() > 0);
                buf = back;
            }
            assert_eq!(buf, b"HELLO");
        })
        .unwrap();
    peer.join().unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_pair_talks_between_two_tasks() {
    one_core()
        .block_on(|| async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let writer = spawn_local(async move {
                a.send_all(vec![7u8; 100_000]).await.0.unwrap();
            });
            let got = recv_exactly(&mut b, 100_000).await;
            writer.await.unwrap();
            assert!(got.iter().all(|&x| x == 7));
        })
        .unwrap();
}
