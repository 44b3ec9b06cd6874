//! The TLS-to-HTTP path on arbitrary bytes: coreline's own TLS byte processing
//! (`coreline_tls::TlsSession`, which `coreline_tls::TlsStream` runs every receive and send
//! through) over the rustls configuration coreline builds
//! (`coreline_tls::TlsAcceptor::builder`), feeding decrypted bytes to the request-head
//! parser as they arrive. Shared by the `tls_http` fuzz target and
//! `http/tests/fuzz_regressions.rs`.
//!
//! The server side (`tls_server.rs`) repeats `TlsStream`'s few steps around the session
//! (push a received chunk, or the end of the stream; read plaintext; seal; move the
//! queued records out) with an in-memory peer for the socket. What stays out is I/O:
//! the runtime's receive ring and sends. The HTTP connection's transport
//! (`http/src/conn/transport.rs`) adds no byte processing of its own over TLS: it lends
//! the stream out of a `Cell`, lends the connection an input buffer from the pool for
//! `TlsStream::poll_recv_into` to append to, stamps arrival times and cuts sends into
//! pieces for the write timeout, all plumbing over the runtime.
//!
//! The first input byte picks a mode: even, the rest is raw bytes from a hostile client,
//! cut into TCP chunks of a size the mode byte sets (0: all at once), fed to the
//! server's handshake (handshake parsing, alerts, plain HTTP on the TLS port); odd, a
//! real rustls client (TLS 1.3 or 1.2) completes a handshake in memory and sends the rest
//! as application data, with a key update and `close_notify` when the mode says. The
//! client's bytes reach the server in TCP chunks cut anywhere (the handshake's last
//! flight in the same chunk as the first data); the server parses the plaintext after
//! every receive and echoes each receive back, as one part or two (the coalesced path),
//! and when the mode says ends with a response over 256 KiB (sealed in batches), then
//! `close_notify`. What must hold: the plaintext is exactly what was sent, both ways; the
//! stream ends clean after `close_notify` and as a truncation without it; the first
//! answer the connection could give agrees with parsing the whole plaintext (see
//! `head.rs`).

use std::io;
use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use coreline_tls::rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use coreline_tls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, ServerConfig};

use super::head;

#[path = "tls_server.rs"]
mod tls_server;

use tls_server::{Client, Cutter, Peer, Server};
/// The server's configuration, and clients for TLS 1.3 (preferred) and TLS 1.2 only.
type Configs = (Arc<ServerConfig>, Arc<ClientConfig>, Arc<ClientConfig>);

fn configs() -> &'static Configs {
    static CONFIGS: OnceLock<Configs> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("coreline-fuzz-tls-{}", std::process::id()));
        let (cert, key) = coreline_tls::generate_self_signed(&dir, &["localhost"]).unwrap();
        let acceptor = coreline_tls::TlsAcceptor::builder()
            .default_cert(&cert, &key)
            .build()
            .unwrap();
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&cert).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let client = |versions: &[&'static rustls::SupportedProtocolVersion]| {
            let config = ClientConfig::builder_with_provider(coreline_tls::provider().into())
                .with_protocol_versions(versions)
                .unwrap()
                .with_root_certificates(roots.clone())
                .with_no_client_auth();
            Arc::new(config)
        };
        let _ = std::fs::remove_dir_all(&dir);
        (
            acceptor.config().clone(),
            client(rustls::DEFAULT_VERSIONS),
            client(&[&rustls::version::TLS12]),
        )
    })
}

/// Runs the TLS-to-HTTP properties on `data`.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        hostile_records(mode, rest);
    } else {
        application_data(mode, rest);
    }
}

/// A hostile client's bytes in memory: sent as the input cuts them, answers discarded.
struct Hostile(Cutter);

impl Peer for Hostile {
    fn next_chunk(&mut self) -> Option<bytes::Bytes> {
        self.0.next_chunk()
    }

    fn deliver(&mut self, _records: &[u8]) {}
}

/// Raw bytes as TLS records: the server must reject them (alert sent) or wait for more,
/// and whatever plaintext it ever yields goes through the parser.
fn hostile_records(mode: u8, input: &[u8]) {
    let (server_config, _, _) = configs();
    let conn = rustls::ServerConnection::new(server_config.clone()).unwrap();
    let mut server = Server::new(conn);
    let tcp_chunk = match mode >> 1 {
        0 => input.len().max(1),
        n => n as usize,
    };
    let mut peer = Hostile(Cutter::new(input.to_vec().into(), tcp_chunk));
    match server.handshake(&mut peer) {
        Ok(true) => {}
        Ok(false) => return, // the bytes ended mid-handshake
        Err(e) => {
            assert_ne!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
            return;
        }
    }
    let mut plain = BytesMut::new();
    while let Ok(1..) = server.recv_into(&mut peer, &mut plain) {}
    head::check(&plain);
}

/// A handshake (TLS 1.3, or 1.2 when `seed` says), then `payload` as application data
/// with a key update halfway and `close_notify` at the end when `seed` says; the server
/// answers as the module doc says.
///
/// When `seed` says, the payload goes four times over, in 16 KiB TCP chunks (a runtime
/// configured with 16 KiB receive buffers): rustls takes at most about 4 KiB of a chunk
/// per read, so the session must keep each chunk's tail for the next.
fn application_data(seed: u8, payload: &[u8]) {
    let (tls12, close, key_update) = (seed & 2 != 0, seed & 4 != 0, seed & 8 != 0);
    let (big_response, single_part, burst) = (seed & 16 != 0, seed & 32 != 0, seed & 64 != 0);
    let (server_config, client13, client12) = configs();
    let name = ServerName::try_from("localhost").unwrap();
    let config = if tls12 { client12 } else { client13 };
    let conn = ClientConnection::new(config.clone(), name).unwrap();
    let (payload, tcp_chunk) = match burst {
        true => (payload.repeat(4), 16 << 10),
        false => (payload.to_vec(), (seed as usize * 37) % 1500 + 1),
    };
    let payload = &payload[..];
    let script = |conn: &mut ClientConnection| {
        tls_server::write_payload(conn, seed, payload, key_update && !tls12, close)
    };
    let mut client = Client::new(conn, tcp_chunk, script);
    let mut server = Server::new(rustls::ServerConnection::new(server_config.clone()).unwrap());
    assert!(server
        .handshake(&mut client)
        .expect("a real client's handshake"));

    let mut received = BytesMut::new();
    let mut first_answer = None;
    let mut step = 0;
    let end = loop {
        let before = received.len();
        match server.recv_into(&mut client, &mut received) {
            Ok(0) => break End::Clean,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break End::Truncated,
            Err(e) => panic!("receiving a real client's records: {e}"),
        }
        let outcome = head::outcome(&received);
        if first_answer.is_none() && outcome != head::Outcome::Partial {
            first_answer = Some(outcome);
        }
        let new = &received[before..];
        let cut = (seed as usize * 7 + step) % (new.len() + 1);
        let parts: &[&[u8]] = if single_part {
            &[new]
        } else {
            &[&new[..cut], &new[cut..]]
        };
        server.send_vectored(&mut client, parts).unwrap();
        step += 1;
    };
    assert!(received == payload, "plaintext altered or lost");
    let expected_end = if close { End::Clean } else { End::Truncated };
    assert_eq!(end, expected_end, "how the stream ended");
    // The first answer the connection could give agrees with parsing the whole stream.
    let whole = head::outcome(payload);
    assert_eq!(
        first_answer.unwrap_or(head::Outcome::Partial),
        whole,
        "parse of the decrypted stream"
    );
    head::check(&received);

    let mut expected = payload.to_vec();
    if big_response {
        let head = b"HTTP/1.1 200 OK\r\n\r\n";
        let body: Vec<u8> = payload
            .iter()
            .chain(b"-")
            .copied()
            .cycle()
            .take(300 << 10)
            .collect();
        server.send_vectored(&mut client, &[head, &body]).unwrap();
        expected.extend_from_slice(head);
        expected.extend_from_slice(&body);
    }
    server.shutdown(&mut client).unwrap();
    assert!(
        client.received == expected,
        "the server's plaintext altered or lost"
    );
    assert!(client.closed, "the server's close_notify did not arrive");
}

/// How the server's receiving ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// `close_notify` after all the data.
    Clean,
    /// The transport ended without `close_notify`.
    Truncated,
}
