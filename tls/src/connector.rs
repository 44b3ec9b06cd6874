//! `TlsConnector`: the client end, for HTTPS upstreams. Turns a connected `TcpStream` into
//! a [`TlsStream<ClientConnection>`] after verifying the server's certificate chain and
//! name against a set of trusted roots (the system's, or a given CA).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use coreline_runtime::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::{load_certs, ConfigError, TlsStream, DEFAULT_HANDSHAKE_TIMEOUT};

/// Where the system's trusted roots are looked for (Debian/Ubuntu, Fedora/RHEL,
/// openSUSE, Alpine), unless `SSL_CERT_FILE` names a file.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Connects TLS clients with one rustls [`ClientConfig`]: TLS 1.3 and 1.2, ALPN
/// `http/1.1`, the server's name checked against its certificate.
///
/// Cheap to clone (an `Arc` and a duration), `Send + Sync`: build it once, use it on every
/// core. rustls' client session cache (in the config) makes later connections resume.
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    handshake_timeout: Duration,
}

impl TlsConnector {
    /// A connector for a ready-made rustls config, with the default handshake timeout.
    pub fn new(config: Arc<ClientConfig>) -> Self {
        TlsConnector {
            config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Trusts exactly the roots in `roots`.
    pub fn with_roots(roots: RootCertStore) -> Result<Self, ConfigError> {
        let mut config = ClientConfig::builder_with_provider(Arc::new(crate::provider()))
            .with_safe_default_protocol_versions()
            .map_err(ConfigError::Tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::new(Arc::new(config)))
    }

    /// Trusts the CA certificates of a PEM file (e.g. a private CA that signed the
    /// upstream's certificate), and nothing else.
    pub fn from_ca_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        Self::with_roots(roots_from(path)?)
    }

    /// Trusts the system's roots: the PEM bundle `SSL_CERT_FILE` names, else the first of
    /// the distributions' usual bundle paths that exists.
    pub fn system_roots() -> Result<Self, ConfigError> {
        let path = std::env::var_os("SSL_CERT_FILE")
            .map(PathBuf::from)
            .or_else(|| {
                SYSTEM_BUNDLES
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| ConfigError::Read {
                path: PathBuf::from(SYSTEM_BUNDLES[0]),
                source: io::Error::new(io::ErrorKind::NotFound, "no system CA bundle found"),
            })?;
        Self::with_roots(roots_from(&path)?)
    }

    /// Sets how long [`connect`](Self::connect) waits for the handshake to finish.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs the client handshake on `tcp` for `server_name` (a DNS name or an IP address,
    /// checked against the certificate). Fails with `InvalidInput` for a name that is
    /// neither, `InvalidData` on a TLS error (an untrusted or mismatched certificate
    /// included), `TimedOut` after the handshake timeout, `UnexpectedEof` if the server
    /// goes away.
    pub async fn connect(
        &self,
        server_name: &str,
        tcp: TcpStream,
    ) -> io::Result<TlsStream<ClientConnection>> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = ClientConnection::new(Arc::clone(&self.config), name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        TlsStream::handshake_within(tcp, conn, self.handshake_timeout).await
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("alpn", &self.config.alpn_protocols)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

/// The certificates of a PEM bundle as a root store; certificates rustls cannot parse as
/// trust anchors are skipped (system bundles hold a few), but one must be usable.
fn roots_from(path: &Path) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(load_certs(path)?);
    if added == 0 {
        return Err(ConfigError::EmptyChain {
            path: path.to_owned(),
        });
    }
    Ok(roots)
}
