//! The TLS-to-HTTP path on arbitrary bytes: rustls's server side with the configuration
//! coreline builds (`coreline_tls::TlsAcceptor::builder`), feeding decrypted bytes to the
//! request-head parser as they arrive. Shared by the `tls_http` fuzz target and
//! `http/tests/fuzz_regressions.rs`.
//!
//! The first input byte picks a mode: even, the rest is raw bytes from a hostile client
//! fed to the server as TLS records (handshake parsing, alerts); odd, a real rustls client
//! (TLS 1.3 or 1.2) completes a handshake in memory and sends the rest as application
//! data, with a key update and `close_notify` when the mode says. The server receives
//! the client's bytes as `coreline_tls::TlsStream` does (TCP chunks cut anywhere, the
//! handshake's last flight in the same chunk as the first data, a chunk's tail kept for
//! the next receive) and parses the plaintext after every receive. What must hold: the
//! plaintext is exactly what was sent, the stream ends clean after `close_notify` and
//! as a truncation without it, and the first answer the connection could give agrees
//! with parsing the whole plaintext (see `head.rs`).

use std::io::{BufRead, Read, Write};
use std::ops::DerefMut;
use std::sync::{Arc, OnceLock};

use coreline_tls::rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use coreline_tls::rustls::{
    self, ClientConfig, ClientConnection, ConnectionCommon, RootCertStore, ServerConfig,
};

use super::head;

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
        hostile_records(rest);
    } else {
        application_data(mode, rest);
    }
}

/// Raw bytes as TLS records: rustls must reject or wait, and whatever plaintext it ever
/// yields goes through the parser.
fn hostile_records(mut input: &[u8]) {
    let (server, _, _) = configs();
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

/// Runs the handshake until the client is done; the client's last flight stays queued, so
/// it reaches the server in the same bytes as the first application data.
fn handshake(tls12: bool) -> (ClientConnection, rustls::ServerConnection) {
    let (server_config, client_config, client12) = configs();
    let config = if tls12 { client12 } else { client_config };
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(config.clone(), name).unwrap();
    let mut server = rustls::ServerConnection::new(server_config.clone()).unwrap();
    while client.is_handshaking() {
        pump(&mut client, &mut server);
        pump(&mut server, &mut client);
    }
    (client, server)
}

/// The server side as `coreline_tls::TlsStream` drives it: TCP chunks cut anywhere (not at
/// record boundaries) are fed to rustls from the slice, a chunk's unfed tail is kept for
/// the next call, and the plaintext is drained after each step.
struct Receiver<'a> {
    conn: rustls::ServerConnection,
    chunks: std::slice::Chunks<'a, u8>,
    pending: Option<(&'a [u8], usize)>,
}

/// How a receive ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// `close_notify` after all the data.
    Clean,
    /// The transport ended without `close_notify`.
    Truncated,
}

impl Receiver<'_> {
    /// The handshake's end: stops as soon as it is done, leaving the rest pending.
    fn finish_handshake(&mut self) {
        while self.conn.is_handshaking() {
            if self.pending.is_none() {
                let chunk = self.chunks.next().expect("handshake bytes are all there");
                self.pending = Some((chunk, 0));
            }
            self.absorb(None).expect("a real client's handshake");
        }
    }

    /// One receive: the plaintext appended to `dst`, or how the stream ended.
    fn recv_into(&mut self, dst: &mut Vec<u8>) -> Result<usize, End> {
        loop {
            match self.drain(dst) {
                Ok(0) => {}
                Ok(n) => return Ok(n),
                Err(end) => return Err(end),
            }
            if self.pending.is_some() {
                match self.absorb(Some(dst)).expect("records of a real client") {
                    0 => continue,
                    n => return Ok(n),
                }
            }
            match self.chunks.next() {
                Some(chunk) => self.pending = Some((chunk, 0)),
                None => {
                    self.conn.read_tls(&mut &[][..]).unwrap();
                }
            }
        }
    }

    fn absorb(&mut self, mut dst: Option<&mut Vec<u8>>) -> Result<usize, rustls::Error> {
        let mut appended = 0;
        while let Some((chunk, at)) = self.pending.take() {
            let mut rest = &chunk[at..];
            let took = self.conn.read_tls(&mut rest).unwrap();
            if !rest.is_empty() {
                self.pending = Some((chunk, at + took));
            }
            self.conn.process_new_packets()?;
            match dst.as_deref_mut() {
                Some(dst) => match self.drain(dst) {
                    Ok(n) => appended += n,
                    Err(_) => break,
                },
                None if !self.conn.is_handshaking() => break,
                None => {}
            }
            assert!(took > 0, "rustls took nothing from a non-empty slice");
        }
        Ok(appended)
    }

    /// Moves the plaintext rustls holds into `dst`: `Ok(0)` if none yet.
    fn drain(&mut self, dst: &mut Vec<u8>) -> Result<usize, End> {
        let mut total = 0;
        loop {
            let mut reader = self.conn.reader();
            match reader.fill_buf() {
                Ok([]) if total == 0 => return Err(End::Clean),
                Ok([]) => return Ok(total),
                Ok(data) => {
                    let n = data.len();
                    dst.extend_from_slice(data);
                    reader.consume(n);
                    total += n;
                }
                Err(_) if total > 0 => return Ok(total),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(End::Truncated)
                }
                Err(e) => panic!("plaintext read: {e}"),
            }
        }
    }
}

/// A handshake (TLS 1.3, or 1.2 when `seed` says), then `payload` as application data in
/// writes the input cuts, with a key update halfway when `seed` says, then `close_notify`
/// or a bare end. The server receives it all as TCP chunks cut independently of the
/// records and parses the plaintext after every receive, as the connection loop does.
fn application_data(seed: u8, payload: &[u8]) {
    let (tls12, close, key_update) = (seed & 2 != 0, seed & 4 != 0, seed & 8 != 0);
    let (mut client, server) = handshake(tls12);
    let mut wire = Vec::new();
    let mut at = 0;
    let mut step = 0usize;
    while at < payload.len() {
        let end = (at + (seed as usize * 13 + step * 29) % 700 + 1).min(payload.len());
        client.writer().write_all(&payload[at..end]).unwrap();
        if key_update && !tls12 && at < payload.len() / 2 && end >= payload.len() / 2 {
            client.refresh_traffic_keys().unwrap();
        }
        at = end;
        step += 1;
    }
    if close {
        client.send_close_notify();
    }
    while client.wants_write() {
        client.write_tls(&mut wire).unwrap();
    }
    let tcp_chunk = (seed as usize * 37) % 1500 + 1;
    let mut receiver = Receiver {
        conn: server,
        chunks: wire.chunks(tcp_chunk),
        pending: None,
    };
    receiver.finish_handshake();
    let mut received = Vec::new();
    let mut first_answer = None;
    let end = loop {
        match receiver.recv_into(&mut received) {
            Ok(n) => assert!(n > 0),
            Err(end) => break end,
        }
        let outcome = head::outcome(&received);
        if first_answer.is_none() && outcome != head::Outcome::Partial {
            first_answer = Some(outcome);
        }
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
}
