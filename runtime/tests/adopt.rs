//! Adopting sockets made by std (`from_std`, `From<OwnedFd>`), checking inherited ones
//! (`check_inherited`, `prepare_inherited`), handing them back
//! (`Into<OwnedFd>`, `IntoRawFd`), and the peer address of accepted connections; against
//! the real kernel with blocking std peers.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

use coreline_runtime::net::{TcpListener, TcpStream};
use coreline_runtime::{Cores, Runtime};

fn one_core() -> Runtime {
    Runtime::builder().cores(Cores::Count(1)).build().unwrap()
}

fn is_nonblocking(fd: i32) -> bool {
    let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).unwrap();
    flags & libc::O_NONBLOCK != 0
}

/// Receives until `want` bytes arrived.
async fn recv_exactly(stream: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        let chunk = stream.recv().await.unwrap().expect("EOF too early");
        got.extend_from_slice(&chunk);
    }
    got
}

#[test]
fn a_std_listener_accepts_through_the_ring_and_reports_peer_addresses() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let clients = std::thread::spawn(move || {
        (0..3)
            .map(|i| {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                c.write_all(&[b'a' + i]).unwrap();
                let mut echo = [0u8; 1];
                c.read_exact(&mut echo).unwrap();
                assert_eq!(echo[0], b'a' + i);
                c.local_addr().unwrap()
            })
            .collect::<Vec<_>>()
    });
    let seen = one_core()
        .block_on(move || async move {
            let mut listener = TcpListener::from_std(std_listener).unwrap();
            assert_eq!(listener.local_addr(), addr);
            let mut peers = Vec::new();
            for _ in 0..3 {
                let (mut stream, peer) = listener.accept_with_addr().await.unwrap();
                assert_eq!(stream.peer_addr().unwrap(), peer);
                let byte = recv_exactly(&mut stream, 1).await;
                stream.send_all(byte).await.0.unwrap();
                peers.push(peer);
            }
            peers
        })
        .unwrap();
    assert_eq!(seen, clients.join().unwrap());
}

#[test]
fn from_std_refuses_a_socket_that_does_not_listen() {
    // A bound socket that never called listen(2): made with std's connectionless type
    // would be UDP, so bind a TCP one by hand.
    let fd = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Stream,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let std_listener = std::net::TcpListener::from(fd);
    one_core()
        .block_on(move || async move {
            let err = TcpListener::from_std(std_listener).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        })
        .unwrap();
}

#[test]
fn adopted_streams_are_non_blocking_and_carry_data_both_ways() {
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = peer.accept().unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        }
    });
    one_core()
        .block_on(move || async move {
            let via_std = TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap());
            let via_fd =
                TcpStream::from(OwnedFd::from(std::net::TcpStream::connect(addr).unwrap()));
            for stream in [via_std.unwrap(), via_fd] {
                let mut stream = stream;
                assert!(is_nonblocking(stream.as_raw_fd()));
                assert_eq!(stream.peer_addr().unwrap(), addr);
                stream.send_all(b"ping".to_vec()).await.0.unwrap();
                assert_eq!(recv_exactly(&mut stream, 4).await, b"ping");
            }
        })
        .unwrap();
    echo.join().unwrap();
}

#[test]
fn a_stream_handed_back_keeps_working_as_a_std_stream() {
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = peer.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf[..3]).unwrap();
        s.write_all(b"one").unwrap();
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let raw = one_core()
        .block_on(move || async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.send_all(b"abc".to_vec()).await.0.unwrap();
            // Arms the multishot receive, which into_raw_fd must end.
            assert_eq!(recv_exactly(&mut stream, 3).await, b"one");
            stream.into_raw_fd()
        })
        .unwrap();
    // SAFETY: into_raw_fd gave us ownership of this fd.
    let mut std_stream = unsafe { std::net::TcpStream::from_raw_fd(raw) };
    std_stream.set_nonblocking(false).unwrap();
    assert_eq!(std_stream.peer_addr().unwrap(), addr);
    std_stream.write_all(b"hello").unwrap();
    let mut back = [0u8; 5];
    std_stream.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    echo.join().unwrap();
}

#[test]
fn a_listener_handed_back_still_listens() {
    let raw_fd = one_core()
        .block_on(|| async {
            let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            OwnedFd::from(listener)
        })
        .unwrap();
    let std_listener = std::net::TcpListener::from(raw_fd);
    let addr = std_listener.local_addr().unwrap();
    let client = std::thread::spawn(move || std::net::TcpStream::connect(addr).unwrap());
    let (_conn, peer) = std_listener.accept().unwrap();
    assert_eq!(peer, client.join().unwrap().local_addr().unwrap());
}

#[test]
fn check_inherited_accepts_only_listening_tcp_sockets() {
    use std::os::fd::AsFd;
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = TcpListener::check_inherited(listening.as_fd()).unwrap();
    assert_eq!(addr, listening.local_addr().unwrap());

    let refused = |fd: std::os::fd::BorrowedFd<'_>| {
        let e = TcpListener::check_inherited(fd).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        e.to_string()
    };
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(refused(udp.as_fd()).contains("datagram"));
    let (unix, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    assert!(refused(unix.as_fd()).contains("Unix socket"));
    let file = std::fs::File::open("/dev/null").unwrap();
    assert!(refused(file.as_fd()).contains("no socket"));
    let connected = std::net::TcpStream::connect(addr).unwrap();
    assert!(refused(connected.as_fd()).contains("does not listen"));
}

#[test]
fn prepare_inherited_sets_the_options_accepted_sockets_inherit() {
    use std::os::fd::AsFd;
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let options = coreline_runtime::net::ListenOptions::default().notsent_lowat(Some(65536));
    TcpListener::prepare_inherited(listening.as_fd(), &options).unwrap();
    let raw = listening.as_raw_fd();
    let get = |name| {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and len are valid for the call; the fd is open.
        let r = unsafe {
            libc::getsockopt(
                raw,
                libc::IPPROTO_TCP,
                name,
                (&mut value as *mut i32).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0);
        value
    };
    assert_eq!(get(libc::TCP_NOTSENT_LOWAT), 65536);
    assert_eq!(get(libc::TCP_NODELAY), 1);
}
