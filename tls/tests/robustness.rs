//! Hostile and broken peers: plain HTTP on the TLS port, a truncated ClientHello, clients
//! that stall (closed after the handshake timeout while others are served), truncation
//! versus close_notify, large and cancelled sends.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use common::{client_config, connect, read_until_closed, round_trip, Event, Server, TempDir};
use coreline_tls::TlsAcceptor;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(300);

struct Setup {
    _dir: TempDir,
    server: Server,
    client: Arc<rustls::ClientConfig>,
}

fn setup() -> Setup {
    setup_with_timeout(HANDSHAKE_TIMEOUT)
}

fn setup_with_timeout(handshake_timeout: Duration) -> Setup {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let tls = TlsAcceptor::builder()
        .default_cert(&cert, &key)
        .handshake_timeout(handshake_timeout)
        .build()
        .unwrap();
    Setup {
        server: Server::echo(tls),
        client: client_config(&[&cert]),
        _dir: dir,
    }
}

/// A complete ClientHello as a real client sends it.
fn client_hello(config: &Arc<rustls::ClientConfig>) -> Vec<u8> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    hello
}

fn handshake_failure(server: &Server) -> (ErrorKind, Duration) {
    match server.handshake() {
        Event::HandshakeFailed { kind, elapsed, .. } => (kind, elapsed),
        other => panic!("expected a failed handshake, got {other:?}"),
    }
}

fn still_served(s: &Setup) {
    let mut c = connect(s.server.addr, &s.client, "localhost");
    assert_eq!(round_trip(&mut c, b"still here"), b"still here");
    assert!(matches!(s.server.handshake(), Event::Handshake { .. }));
}

#[test]
fn plain_http_on_the_tls_port_is_closed() {
    let s = setup();
    let mut sock = std::net::TcpStream::connect(s.server.addr).unwrap();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_until_closed(&mut sock, Duration::from_secs(2));
    // Closed for the bytes it sent, not by the handshake timeout (that would be TimedOut).
    assert_eq!(handshake_failure(&s.server).0, ErrorKind::InvalidData);
    still_served(&s);
}

#[test]
fn truncated_client_hello_then_eof_is_closed() {
    let s = setup();
    let hello = client_hello(&s.client);
    let mut sock = std::net::TcpStream::connect(s.server.addr).unwrap();
    sock.write_all(&hello[..hello.len() / 2]).unwrap();
    sock.shutdown(Shutdown::Write).unwrap();
    read_until_closed(&mut sock, Duration::from_secs(2));
    // Closed at the EOF, not by the handshake timeout (that would be TimedOut).
    assert_eq!(handshake_failure(&s.server).0, ErrorKind::UnexpectedEof);
    still_served(&s);
}

#[test]
fn stalled_clients_are_closed_after_the_handshake_timeout_while_others_are_served() {
    // Longer than the other tests' timeout: the good client must finish its handshake
    // before the stalled ones time out, with room for a loaded machine.
    const TIMEOUT: Duration = Duration::from_secs(1);
    let s = setup_with_timeout(TIMEOUT);
    let hello = client_hello(&s.client);
    // Silent; half a ClientHello; a whole ClientHello and then nothing (mid-handshake).
    // The server's clock for each starts at its accept, after this.
    let start = std::time::Instant::now();
    let mut silent = std::net::TcpStream::connect(s.server.addr).unwrap();
    let mut half = std::net::TcpStream::connect(s.server.addr).unwrap();
    half.write_all(&hello[..hello.len() / 2]).unwrap();
    let mut mid = std::net::TcpStream::connect(s.server.addr).unwrap();
    mid.write_all(&hello).unwrap();

    // Meanwhile a real client is served: the server reports its handshake before any of
    // the stalled ones fails (events come in the order they happen).
    let mut c = connect(s.server.addr, &s.client, "localhost");
    assert_eq!(round_trip(&mut c, b"served meanwhile"), b"served meanwhile");
    let first = s.server.handshake();
    assert!(
        matches!(first, Event::Handshake { .. }),
        "good client was held up: {first:?}"
    );

    for sock in [&mut silent, &mut half, &mut mid] {
        read_until_closed(sock, TIMEOUT * 5);
    }
    let took = start.elapsed();
    assert!(took >= TIMEOUT, "closed too early: {took:?}");
    assert!(took < TIMEOUT * 5, "closed too late: {took:?}");
    for _ in 0..3 {
        let (kind, elapsed) = handshake_failure(&s.server);
        assert_eq!(kind, ErrorKind::TimedOut);
        assert!(elapsed >= TIMEOUT, "{elapsed:?}");
    }
    // The good client's connection outlived them all.
    assert_eq!(round_trip(&mut c, b"after"), b"after");
}

#[test]
fn tcp_eof_without_close_notify_is_unexpected_eof() {
    let s = setup();
    let mut c = connect(s.server.addr, &s.client, "localhost");
    assert_eq!(round_trip(&mut c, b"hello"), b"hello");
    assert!(matches!(s.server.handshake(), Event::Handshake { .. }));
    // Data, then a TCP close with no close_notify: a truncation.
    c.write_all(b"partial message").unwrap();
    c.flush().unwrap();
    let mut back = [0u8; 15];
    c.read_exact(&mut back).unwrap();
    c.sock.shutdown(Shutdown::Both).unwrap();
    assert_eq!(s.server.end(), Err(ErrorKind::UnexpectedEof));
}

#[test]
fn close_notify_is_a_clean_end_after_the_data_before_it() {
    let s = setup();
    let mut c = connect(s.server.addr, &s.client, "localhost");
    assert!(matches!(s.server.handshake(), Event::Handshake { .. }));
    // Data and close_notify in one TCP segment: the server must deliver the data first.
    c.conn.writer().write_all(b"last words").unwrap();
    c.conn.send_close_notify();
    let mut wire = Vec::new();
    while c.conn.wants_write() {
        c.conn.write_tls(&mut wire).unwrap();
    }
    c.sock.write_all(&wire).unwrap();
    let mut got = Vec::new();
    // Ok(0) here means the server answered with its own close_notify.
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"last words");
    assert_eq!(s.server.end(), Ok(()));
}

#[test]
fn large_and_coalesced_vectored_sends_arrive_intact() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let body: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    let expected = [&b"small-"[..], b"parts|", b"head|", &body].concat();
    let server = Server::start(TlsAcceptor::from_pem_files(&cert, &key).unwrap(), {
        let body = body.clone();
        move |mut stream, tx| {
            let body = body.clone();
            async move {
                let r = async {
                    stream.send_vectored(&[b"small-", b"parts|"]).await?;
                    stream.send_vectored(&[b"head|", &body]).await?;
                    stream.shutdown().await
                }
                .await;
                let _ = tx.send(Event::End(r.map_err(|e| e.kind())));
            }
        }
    });
    let mut c = connect(server.addr, &client_config(&[&cert]), "localhost");
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap(); // ends at the server's close_notify
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "payload corrupted");
    assert_eq!(server.end(), Ok(()));
}

#[test]
fn a_send_cancelled_mid_flight_poisons_later_sends() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let server = Server::start(
        TlsAcceptor::from_pem_files(&cert, &key).unwrap(),
        |mut stream, tx| async move {
            // The client never reads: the send blocks once the socket buffers are full.
            let big = vec![7u8; 64 * 1024 * 1024];
            let timed =
                coreline_runtime::time::timeout(Duration::from_millis(300), stream.send_all(&big))
                    .await;
            assert!(timed.is_err(), "64 MiB fitted in the socket buffers?");
            let r = stream.send_all(b"more").await;
            let _ = tx.send(Event::End(r.map_err(|e| e.kind())));
        },
    );
    let _c = connect(server.addr, &client_config(&[&cert]), "localhost");
    assert!(matches!(server.handshake(), Event::Handshake { .. }));
    let end = server
        .events
        .recv_timeout(Duration::from_secs(10))
        .expect("no end event");
    assert!(
        matches!(end, Event::End(Err(ErrorKind::BrokenPipe))),
        "{end:?}"
    );
}
