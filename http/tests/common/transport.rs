//! The test client's byte stream: plain TCP, or TLS (a blocking rustls client) when the
//! test target runs over TLS (`crate::OVER_TLS`), plus the certificates that test servers
//! and clients share.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};

use coreline_tls::rustls::{self, ClientConnection, StreamOwned};
use coreline_tls::TlsAcceptor;

/// A client connection's stream.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// The test certificate, made once per test process (self-signed for localhost,
/// 127.0.0.1 and ::1): an acceptor for it and the trust anchors that accept only it. The
/// PEM files are removed as soon as both are loaded.
fn test_identity() -> &'static (TlsAcceptor, rustls::RootCertStore) {
    static IDENTITY: OnceLock<(TlsAcceptor, rustls::RootCertStore)> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("coreline-http-tls-{}", std::process::id()));
        let (cert, key) =
            coreline_tls::generate_self_signed(&dir, &[]).expect("generate a test certificate");
        let acceptor = TlsAcceptor::from_pem_files(&cert, &key).expect("test acceptor");
        let mut roots = rustls::RootCertStore::empty();
        for der in coreline_tls::load_certs(&cert).expect("test certificate") {
            roots.add(der).expect("a usable trust anchor");
        }
        let _ = std::fs::remove_dir_all(&dir);
        (acceptor, roots)
    })
}

/// An acceptor for the test certificate.
pub fn test_acceptor() -> TlsAcceptor {
    test_identity().0.clone()
}

/// Trust anchors holding only the test certificate.
pub fn test_roots() -> rustls::RootCertStore {
    test_identity().1.clone()
}

/// A rustls client config trusting the test certificate (and only it), ALPN http/1.1.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut config =
                rustls::ClientConfig::builder_with_provider(Arc::new(coreline_tls::provider()))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(test_roots())
                    .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(config)
        })
        .clone()
}

impl Stream {
    /// Connects, over TLS if this test target runs over TLS (handshake completed here).
    pub fn connect(addr: SocketAddr) -> Stream {
        let tcp = TcpStream::connect(addr).expect("connect");
        if !crate::OVER_TLS {
            return Stream::Plain(tcp);
        }
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let conn = ClientConnection::new(client_config(), name).expect("client connection");
        let mut tls = StreamOwned::new(conn, tcp);
        tls.sock
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .expect("TLS handshake with the test server");
        }
        Stream::Tls(Box::new(tls))
    }

    /// The TCP socket (for timeouts and options; reading it directly would bypass TLS).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }

    /// Half-closes (`Shutdown::Write`) or closes; over TLS, `close_notify` goes first,
    /// as a TLS client's end of input looks.
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        if let Stream::Tls(t) = self {
            t.conn.send_close_notify();
            while t.conn.wants_write() {
                t.conn.write_tls(&mut t.sock)?;
            }
        }
        self.tcp().shutdown(how)
    }

    /// Whether nothing arrives (no data, no EOF) for `for_`. Over TLS it reads (records
    /// such as session tickets are not data); plain TCP peeks.
    pub fn quiet_for(&mut self, for_: std::time::Duration) -> bool {
        self.tcp().set_read_timeout(Some(for_)).unwrap();
        let mut b = [0u8; 1];
        let r = match self {
            Stream::Plain(s) => s.peek(&mut b),
            Stream::Tls(t) => t.read(&mut b),
        };
        matches!(r, Err(ref e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}

/// A one-core server builder with metrics on, a plain listener and a TLS listener (the test
/// certificate) on free loopback ports: the TLS address is `tls_local_addrs()[0]`.
pub fn plain_and_tls_builder() -> coreline_http::Builder {
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    coreline_http::Server::builder()
        .listen(local)
        .tls_listen(local, test_acceptor())
        .cores(coreline_runtime::Cores::Count(1))
        .metrics(true)
}
