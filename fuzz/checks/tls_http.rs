//! The TLS-to-HTTP path on arbitrary bytes: rustls's server side with the configuration
//! coreline builds (`coreline_tls::TlsAcceptor::builder`), feeding decrypted bytes to the
//! request-head parser as they arrive. Shared by the `tls_http` fuzz target and
//! `http/tests/fuzz_regressions.rs`.
//!
//! The first input byte picks a mode: even, the rest is raw bytes from a hostile client
//! fed to the server as TLS records (handshake parsing, alerts); odd, a real rustls client
//! completes a handshake in memory and then sends the rest as application data in
//! records cut where the input says, and the server-side parse of the growing plaintext
//! must agree with parsing the plaintext whole (see `head.rs`).

use std::io::{Read, Write};
use std::ops::DerefMut;
use std::sync::{Arc, OnceLock};

use coreline_tls::rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use coreline_tls::rustls::{
    self, ClientConfig, ClientConnection, ConnectionCommon, RootCertStore, ServerConfig,
};

use super::head;

fn configs() -> &'static (Arc<ServerConfig>, Arc<ClientConfig>) {
    static CONFIGS: OnceLock<(Arc<ServerConfig>, Arc<ClientConfig>)> = OnceLock::new();
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
        let client = ClientConfig::builder_with_provider(coreline_tls::provider().into())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let _ = std::fs::remove_dir_all(&dir);
        (acceptor.config().clone(), Arc::new(client))
    })
}

/// Runs the TLS-to-HTTP properties on `data`.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        hostile_records(rest);
    } else {
        application_data(mode, rest);
    }
}

/// Raw bytes as TLS records: rustls must reject or wait, and whatever plaintext it ever
/// yields goes through the parser.
fn hostile_records(mut input: &[u8]) {
    let (server, _) = configs();
    let mut conn = rustls::ServerConnection::new(server.clone()).unwrap();
    let mut plain = Vec::new();
    while !input.is_empty() {
        match conn.read_tls(&mut input) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if conn.process_new_packets().is_err() {
            break;
        }
        let _ = conn.reader().read_to_end(&mut plain);
    }
    let mut sink = Vec::new();
    while conn.wants_write() && conn.write_tls(&mut sink).is_ok() {}
    head::check(&plain);
}

/// Moves every record `from` has queued into `to`, which processes them.
fn pump<A, B, DA, DB>(from: &mut A, to: &mut B)
where
    A: DerefMut<Target = ConnectionCommon<DA>>,
    B: DerefMut<Target = ConnectionCommon<DB>>,
{
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut slice = &wire[..];
    while !slice.is_empty() {
        to.read_tls(&mut slice).unwrap();
        to.process_new_packets().unwrap();
    }
}

fn handshake() -> (ClientConnection, rustls::ServerConnection) {
    let (server_config, client_config) = configs();
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(client_config.clone(), name).unwrap();
    let mut server = rustls::ServerConnection::new(server_config.clone()).unwrap();
    while client.is_handshaking() || server.is_handshaking() {
        pump(&mut client, &mut server);
        pump(&mut server, &mut client);
    }
    (client, server)
}

/// A handshake, then `payload` as application data in pieces; the server appends the
/// plaintext to a buffer and parses after every record, as the connection loop does.
fn application_data(seed: u8, payload: &[u8]) {
    let (mut client, mut server) = handshake();
    let mut received = Vec::new();
    let mut last = head::Outcome::Partial;
    let mut at = 0;
    let mut step = 0usize;
    while at < payload.len() {
        let piece = (seed as usize * 13 + step * 29) % 700 + 1;
        let end = (at + piece).min(payload.len());
        client.writer().write_all(&payload[at..end]).unwrap();
        pump(&mut client, &mut server);
        let _ = server.reader().read_to_end(&mut received);
        last = head::outcome(&received);
        if last != head::Outcome::Partial {
            break; // the connection would answer (or refuse) now
        }
        at = end;
        step += 1;
    }
    let expected = head::outcome(&payload[..received.len().min(payload.len())]);
    assert_eq!(
        &received[..],
        &payload[..received.len()],
        "plaintext altered"
    );
    assert_eq!(last, expected, "parse of the decrypted stream");
    head::check(&received);
}
