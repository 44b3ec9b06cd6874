//! TCP listener and stream behaviour against the real kernel: socket options, addresses,
//! shutdown, connect errors, and how core-selection errors read.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coreline_runtime::net::{ListenOptions, TcpListener, TcpStream};
use coreline_runtime::{time, Cores, Error, Runtime};

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
fn nodelay_can_be_turned_off_on_the_listener() {
    one_core()
        .block_on(|| async {
            let options = ListenOptions {
                nodelay: false,
                ..Default::default()
            };
            let mut listener = TcpListener::bind_with(any_port(), &options).unwrap();
            let _client = TcpStream::connect(listener.local_addr()).await.unwrap();
            let server = listener.accept().await.unwrap();
            assert!(!server.nodelay().unwrap());
        })
        .unwrap();
}

#[test]
fn reuse_port_lets_two_sockets_share_a_port_and_its_absence_does_not() {
    one_core()
        .block_on(|| async {
            let first = TcpListener::bind(any_port()).unwrap();
            let addr = first.local_addr();
            let second = TcpListener::bind(addr).expect("SO_REUSEPORT shares the port");
            assert_eq!(second.local_addr(), addr);
            let exclusive = ListenOptions {
                reuse_port: false,
                ..Default::default()
            };
            let err = TcpListener::bind_with(addr, &exclusive).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
            assert!(err.to_string().contains(&addr.to_string()), "{err}");
        })
        .unwrap();
}

/// Runs `f` on a thread of its own in a private network namespace (loopback up), so that
/// what it does to per-namespace state stays there; `None` when not root.
fn in_private_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    if !nix::unistd::Uid::effective().is_root() {
        return None;
    }
    std::thread::spawn(move || {
        // Only this thread (and the threads and processes it starts) moves.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        let up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip (iproute2)");
        assert!(up.success(), "ip link set lo up");
        f()
    })
    .join()
    .map_or_else(|panic| std::panic::resume_unwind(panic), Some)
}

/// Binds with `options`, checks the socket options took, and that a deferred accept waits
/// for data.
fn check_listen_options(options: ListenOptions) {
    one_core()
        .block_on(|| async move {
            let mut listener = TcpListener::bind_with(any_port(), &options).unwrap();
            let tcp = libc::IPPROTO_TCP;
            assert!(listener.int_option(tcp, libc::TCP_DEFER_ACCEPT).unwrap() > 0);
            if let Some(qlen) = options.fastopen {
                assert_eq!(
                    listener.int_option(tcp, libc::TCP_FASTOPEN).unwrap(),
                    qlen as i32
                );
            }
            // Deferred: a silent client is not accepted; once it sends, it is.
            let client = TcpStream::connect(listener.local_addr()).await.unwrap();
            let early = time::timeout(Duration::from_millis(300), listener.accept()).await;
            assert!(early.is_err(), "accepted before any data arrived");
            let (r, _) = client.send_all(b"x".as_slice()).await;
            r.unwrap();
            let mut server = time::timeout(Duration::from_secs(5), listener.accept())
                .await
                .expect("accepted after data")
                .unwrap();
            let data = server.recv().await.unwrap().expect("data");
            assert_eq!(&*data, b"x");
        })
        .unwrap();
}

#[test]
fn defer_accept_and_fastopen_are_applied() {
    let deferred = ListenOptions {
        defer_accept: Some(Duration::from_secs(2)),
        ..Default::default()
    };
    check_listen_options(deferred.clone());
    // The first TCP_FASTOPEN listener of a network namespace makes the kernel generate
    // that namespace's net.ipv4.tcp_fastopen_key: a host setting this test must not
    // change, so Fast Open is tried in a namespace of its own (root only).
    let with_fastopen = ListenOptions {
        fastopen: Some(256),
        ..deferred
    };
    if in_private_netns(move || check_listen_options(with_fastopen)).is_none() {
        eprintln!("skipped TCP_FASTOPEN: needs root for a private network namespace");
    }
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

#[test]
fn core_selection_errors_say_what_is_wrong() {
    let err = Runtime::builder()
        .cores(Cores::List(vec![4095]))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Cores(_)));
    assert!(
        err.to_string().contains("CPU 4095 is not available"),
        "{err}"
    );
    let err = Runtime::builder()
        .cores(Cores::Count(10_000))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("asked for 10000 cores"), "{err}");
    let err = Cores::parse_list("0,x").unwrap_err();
    assert!(err.to_string().contains("'x'"), "{err}");
    assert_eq!(
        Cores::parse_list("0-2,5").unwrap(),
        Cores::List(vec![0, 1, 2, 5])
    );
    let err = Runtime::builder()
        .recv_buffers(1000, 4096)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("power of two"), "{err}");
}

#[test]
fn ring_uses_the_fast_setup_flags_on_this_kernel() {
    let started = Instant::now();
    let info = one_core()
        .block_on(|| async { coreline_runtime::ring_info() })
        .unwrap();
    // This project targets Linux 6.x, where all four flags exist; a fallback here means
    // the probe is wrong.
    assert!(
        info.flags.single_issuer && info.flags.defer_taskrun,
        "{info:?}"
    );
    assert!(info.refused.is_empty(), "{info:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_reader_that_falls_behind_holds_no_provided_buffers_beyond_the_one_it_kept() {
    let listener = std::net::TcpListener::bind(any_port()).unwrap();
    let addr = listener.local_addr().unwrap();
    let payload: Vec<u8> = (0..8_000_000u32).map(|i| (i % 249) as u8).collect();
    let expected = payload.clone();
    let writer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&payload).unwrap();
    });
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
fn drain_hands_out_the_connections_already_accepted_then_ends() {
    one_core()
        .block_on(|| async {
            let mut listener = TcpListener::bind(any_port()).unwrap();
            let addr = listener.local_addr();
            let _first_client = TcpStream::connect(addr).await.unwrap();
            let _first = listener.accept().await.unwrap(); // the multishot accept is armed
            let mut clients = Vec::new();
            for _ in 0..5 {
                clients.push(TcpStream::connect(addr).await.unwrap());
            }
            // The ring accepts them on its own; give the completions time to arrive.
            time::sleep(Duration::from_millis(50)).await;
            let mut drained = Vec::new();
            while let Some(s) = listener.drain().await {
                drained.push(s.peer_addr().unwrap());
            }
            let mut expected: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
            expected.sort();
            drained.sort();
            assert_eq!(drained, expected, "every accepted connection handed out");
            assert!(
                listener.accept().await.is_err(),
                "no accepting after a drain"
            );
        })
        .unwrap();
}
