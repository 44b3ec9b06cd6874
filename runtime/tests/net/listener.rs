//! Listening sockets: the options (`TCP_NODELAY`, `SO_REUSEPORT`, `TCP_DEFER_ACCEPT`,
//! `TCP_FASTOPEN`, `TCP_NOTSENT_LOWAT`) as the kernel applied them, and a drain that hands
//! out what was already accepted.

use std::time::Duration;

use coreline_runtime::net::{ListenOptions, TcpListener, TcpStream};
use coreline_runtime::time;

use crate::{any_port, one_core};

#[test]
fn nodelay_can_be_turned_off_on_the_listener() {
    one_core()
        .block_on(|| async {
            let options = ListenOptions::default().nodelay(false);
            let mut listener = TcpListener::bind_with(any_port(), &options).unwrap();
            let _client = TcpStream::connect(listener.local_addr()).await.unwrap();
            let server = listener.accept().await.unwrap();
            assert!(!server.nodelay().unwrap());
        })
        .unwrap();
}

#[test]
fn notsent_lowat_set_on_the_listener_reaches_accepted_sockets() {
    one_core()
        .block_on(|| async {
            let options = ListenOptions::default().notsent_lowat(Some(64 * 1024));
            let mut listener = TcpListener::bind_with(any_port(), &options).unwrap();
            let _client = TcpStream::connect(listener.local_addr()).await.unwrap();
            let server = listener.accept().await.unwrap();
            let lowat = server.int_option(libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT);
            assert_eq!(lowat.unwrap(), 64 * 1024);
        })
        .unwrap();
}

/// `net.ipv4.tcp_congestion_control`: what new sockets get.
fn kernel_default_congestion_control() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn congestion_control_set_on_the_listener_reaches_accepted_sockets() {
    one_core()
        .block_on(|| async {
            // Pick an algorithm other than the default, so that inheritance shows.
            let default = kernel_default_congestion_control();
            let wanted = if default == "reno" { "cubic" } else { "reno" };
            let options = ListenOptions::default().congestion_control(Some(wanted.into()));
            let mut listener = TcpListener::bind_with(any_port(), &options).unwrap();
            let client = TcpStream::connect(listener.local_addr()).await.unwrap();
            let server = listener.accept().await.unwrap();
            assert_eq!(server.congestion_control().unwrap(), wanted);
            assert_eq!(client.congestion_control().unwrap(), default);
        })
        .unwrap();
}

#[test]
fn unpaced_loopback_trades_bbr_for_reno_on_loopback_listeners_only() {
    one_core()
        .block_on(|| async {
            let default = kernel_default_congestion_control();
            // What a loopback listener's connections get: reno where the default paces.
            let expected = if default.starts_with("bbr") {
                "reno"
            } else {
                default.as_str()
            };
            let options = ListenOptions::default().unpaced_loopback(true);
            for (bind, wanted) in [("127.0.0.1:0", expected), ("0.0.0.0:0", &default)] {
                let mut listener = TcpListener::bind_with(bind.parse().unwrap(), &options).unwrap();
                let port = listener.local_addr().port();
                let to = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                let _client = TcpStream::connect(to).await.unwrap();
                let server = listener.accept().await.unwrap();
                // A wildcard listener keeps the kernel's choice even for loopback peers.
                assert_eq!(server.congestion_control().unwrap(), wanted, "bound {bind}");
            }
        })
        .unwrap();
}

#[test]
fn an_unknown_congestion_control_is_refused_with_the_available_ones() {
    let options = ListenOptions::default().congestion_control(Some("no-such-cc".into()));
    let err = TcpListener::bind_with(any_port(), &options).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"no-such-cc\"") && text.contains("available: "),
        "{text}"
    );
    assert!(text.contains("reno"), "reno is always built in: {text}");
}

#[test]
fn reuse_port_lets_two_sockets_share_a_port_and_its_absence_does_not() {
    one_core()
        .block_on(|| async {
            let first = TcpListener::bind(any_port()).unwrap();
            let addr = first.local_addr();
            let second = TcpListener::bind(addr).expect("SO_REUSEPORT shares the port");
            assert_eq!(second.local_addr(), addr);
            let exclusive = ListenOptions::default().reuse_port(false);
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
    let deferred = ListenOptions::default().defer_accept(Some(Duration::from_secs(2)));
    check_listen_options(deferred.clone());
    // The first TCP_FASTOPEN listener of a network namespace makes the kernel generate
    // that namespace's net.ipv4.tcp_fastopen_key: a host setting this test must not
    // change, so Fast Open is tried in a namespace of its own (root only).
    let with_fastopen = deferred.fastopen(Some(256));
    if in_private_netns(move || check_listen_options(with_fastopen)).is_none() {
        eprintln!("skipped TCP_FASTOPEN: needs root for a private network namespace");
    }
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
