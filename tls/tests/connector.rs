//! The client end: `TlsConnector` against the echo server, trusting the server's
//! certificate as its CA; a certificate for another name, or from an untrusted issuer,
//! is refused.

// The shared helpers include clients this test does not use.
#[allow(unused_imports)]
mod common;

use bytes::BytesMut;
use common::{Server, TempDir};
use coreline_runtime::net::TcpStream;
use coreline_runtime::{Cores, Runtime};
use coreline_tls::{TlsAcceptor, TlsConnector};

/// Connects to `server` as `name`, sends "ping" and returns what came back.
fn ping(server: &Server, connector: TlsConnector, name: &'static str) -> std::io::Result<Vec<u8>> {
    let addr = server.addr;
    Runtime::builder()
        .cores(Cores::Count(1))
        .build()
        .unwrap()
        .block_on(move || async move {
            let tcp = TcpStream::connect(addr).await?;
            let mut tls = connector.connect(name, tcp).await?;
            assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
            tls.send_all(b"ping").await?;
            let mut got = BytesMut::new();
            while got.len() < 4 {
                if tls.recv_into(&mut got).await? == 0 {
                    break;
                }
            }
            tls.shutdown().await?;
            Ok(got.to_vec())
        })
        .unwrap()
}

#[test]
fn verifies_the_chain_and_the_name() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("server", &["upstream.test"]);
    let (other_cert, _) = dir.cert("other", &["upstream.test"]);
    let server = Server::echo(TlsAcceptor::from_pem_files(&cert, &key).unwrap());
    let trusting = TlsConnector::from_ca_file(&cert).unwrap();

    assert_eq!(
        ping(&server, trusting.clone(), "upstream.test").unwrap(),
        b"ping"
    );

    let wrong_name = ping(&server, trusting, "other.test").unwrap_err();
    assert_eq!(
        wrong_name.kind(),
        std::io::ErrorKind::InvalidData,
        "{wrong_name}"
    );

    let untrusted = TlsConnector::from_ca_file(&other_cert).unwrap();
    let error = ping(&server, untrusted, "upstream.test").unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{error}");

    let not_a_name = ping(
        &server,
        TlsConnector::from_ca_file(&cert).unwrap(),
        "bad name!",
    );
    assert_eq!(
        not_a_name.unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[test]
fn system_roots_load_and_refuse_a_private_certificate() {
    let dir = TempDir::new();
    let (cert, key) = dir.cert("server", &["upstream.test"]);
    let server = Server::echo(TlsAcceptor::from_pem_files(&cert, &key).unwrap());
    let Ok(system) = TlsConnector::system_roots() else {
        eprintln!("no system CA bundle on this machine; nothing to check");
        return;
    };
    let error = ping(&server, system, "upstream.test").unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{error}");
}
