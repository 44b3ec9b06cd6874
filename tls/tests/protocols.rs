//! TLS 1.3 and 1.2 with real peers (openssl s_client, Python ssl), ALPN, and session
//! resumption by tickets (1.3 and 1.2) and by the session-ID cache.

mod common;

use common::{python, s_client, Event, Server, TempDir};
use coreline_tls::TlsAcceptor;

fn handshake_of(server: &Server) -> (String, Option<String>, bool) {
    match server.handshake() {
        Event::Handshake {
            version,
            alpn,
            resumed,
            ..
        } => (version, alpn, resumed),
        other => panic!("expected a handshake, got {other:?}"),
    }
}

#[test]
fn openssl_tls13_and_tls12_forced_echo() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let server = Server::echo(TlsAcceptor::from_pem_files(&cert, &key).unwrap());
    for (flag, want) in [("-tls1_3", "TLSv1_3"), ("-tls1_2", "TLSv1_2")] {
        let out = s_client(
            server.addr,
            &[flag, "-servername", "localhost", "-alpn", "http/1.1"],
            "echo-me-please",
        );
        let (version, alpn, resumed) = handshake_of(&server);
        assert_eq!(version, want, "{out}");
        assert_eq!(alpn.as_deref(), Some("http/1.1"));
        assert!(!resumed);
        // Echoed back: s_client prints only what the server sent, never its own input.
        assert!(out.contains("echo-me-please"), "no echo in:\n{out}");
        assert!(out.contains("ALPN protocol: http/1.1"), "{out}");
        // s_client closes with close_notify on stdin EOF: a clean end for the server.
        assert_eq!(server.end(), Ok(()));
    }
}

#[test]
fn python_tls13_and_tls12_forced_echo() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let server = Server::echo(TlsAcceptor::from_pem_files(&cert, &key).unwrap());
    let script = r#"
import socket, ssl, sys
port, cafile, ver = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
v = ssl.TLSVersion.TLSv1_3 if ver == "1.3" else ssl.TLSVersion.TLSv1_2
ctx.minimum_version = v
ctx.maximum_version = v
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"x" * 100000)
        got = b""
        while len(got) < 100000:
            got += s.recv(65536)
        assert got == b"x" * 100000
        print(s.version(), s.selected_alpn_protocol())
        s.unwrap()
"#;
    let port = server.addr.port().to_string();
    let cafile = cert.to_str().unwrap();
    for (ver, want) in [("1.3", "TLSv1.3 http/1.1"), ("1.2", "TLSv1.2 http/1.1")] {
        let out = python(script, &[&port, cafile, ver]);
        assert_eq!(out.trim(), want);
        let (version, _, _) = handshake_of(&server);
        assert_eq!(version, format!("TLSv1_{}", &ver[2..]));
        assert_eq!(server.end(), Ok(()), "unwrap() sends close_notify");
    }
}

#[test]
fn alpn_without_http11_is_refused() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let server = Server::echo(TlsAcceptor::from_pem_files(&cert, &key).unwrap());
    let out = s_client(server.addr, &["-alpn", "h2"], "never-echoed");
    assert!(!out.contains("never-echoed\n"), "{out}");
    match server.handshake() {
        Event::HandshakeFailed { kind, .. } => assert_eq!(kind, std::io::ErrorKind::InvalidData),
        other => panic!("expected a failed handshake, got {other:?}"),
    }
    // No ALPN at all is fine.
    let out = s_client(server.addr, &[], "plain-client");
    assert!(out.contains("plain-client"), "{out}");
    assert_eq!(handshake_of(&server).1, None);
}

/// `-sess_out` then `-sess_in`: the second connection must report `Reused`.
fn resumes(acceptor: TlsAcceptor, flags: &[&str], want_version: &str) {
    let dir = TempDir::new();
    let server = Server::echo(acceptor);
    let sess = dir.path("session.pem");
    let sess = sess.to_str().unwrap();
    let mut args = flags.to_vec();
    args.extend(["-sess_out", sess]);
    let first = s_client(server.addr, &args, "first-connection");
    assert!(first.contains("first-connection"), "{first}");
    assert!(first.contains(&format!("New, {want_version}")), "{first}");
    assert!(!handshake_of(&server).2);
    let mut args = flags.to_vec();
    args.extend(["-sess_in", sess]);
    let second = s_client(server.addr, &args, "second-connection");
    assert!(second.contains("second-connection"), "{second}");
    assert!(
        second.contains(&format!("Reused, {want_version}")),
        "not resumed:\n{second}"
    );
    assert!(handshake_of(&server).2, "server says not resumed");
}

fn acceptor(dir: &TempDir, tickets: bool) -> TlsAcceptor {
    let (cert, key) = dir.cert("c", &["localhost"]);
    TlsAcceptor::builder()
        .default_cert(cert, key)
        .tickets(tickets)
        .build()
        .unwrap()
}

#[test]
fn resumption_tls13_ticket() {
    let dir = TempDir::new();
    resumes(acceptor(&dir, true), &["-tls1_3"], "TLSv1.3");
}

#[test]
fn resumption_tls12_ticket() {
    let dir = TempDir::new();
    resumes(acceptor(&dir, true), &["-tls1_2"], "TLSv1.2");
}

#[test]
fn resumption_tls12_session_id_cache() {
    let dir = TempDir::new();
    // -no_ticket: the client asks for no ticket, so only the server's cache can resume.
    resumes(acceptor(&dir, true), &["-tls1_2", "-no_ticket"], "TLSv1.2");
}

#[test]
fn resumption_tls13_stateful_cache_without_tickets() {
    let dir = TempDir::new();
    resumes(acceptor(&dir, false), &["-tls1_3"], "TLSv1.3");
}

#[test]
fn no_resumption_when_cache_and_tickets_are_off() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("c", &["localhost"]);
    let tls = TlsAcceptor::builder()
        .default_cert(cert, key)
        .tickets(false)
        .session_cache_size(0)
        .build()
        .unwrap();
    let server = Server::echo(tls);
    let sess = dir.path("s.pem");
    let sess = sess.to_str().unwrap();
    let first = s_client(server.addr, &["-tls1_2", "-sess_out", sess], "one");
    assert!(first.contains("one"), "{first}");
    // With neither a session ID nor a ticket, s_client has no session worth saving.
    if dir.path("s.pem").exists() {
        let out = s_client(server.addr, &["-tls1_2", "-sess_in", sess], "two");
        assert!(out.contains("New, TLSv1.2"), "{out}");
    }
    assert!(!handshake_of(&server).2);
}
