//! `TlsAcceptor`: turns accepted `TcpStream`s into [`TlsStream`]s within a deadline.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use coreline_runtime::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};

use crate::reload::Reloadable;
use crate::{resumption, ConfigError, TlsAcceptorBuilder, TlsStream};

/// How long a client may take to complete the handshake unless configured otherwise.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TLS connections with one rustls [`ServerConfig`].
///
/// Cheap to clone (an `Arc` and two numbers), `Send + Sync`: build it once (so bad
/// certificates fail at startup), then on each core either clone it (all cores share one
/// session cache) or call [`per_core`](Self::per_core) (a cache per core; tickets work
/// everywhere either way, see [`resumption`](crate::resumption)).
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
    /// Capacity for the fresh cache [`per_core`](Self::per_core) installs; 0 = keep the
    /// config's own storage (e.g. a caller-made config).
    session_cache_size: usize,
    /// The certificates' files, for an acceptor built from them.
    certificates: Option<Arc<Reloadable>>,
}

impl TlsAcceptor {
    /// An acceptor for a ready-made rustls config, with the default handshake timeout.
    /// [`per_core`](Self::per_core) keeps this config's session storage as it is.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        TlsAcceptor {
            config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            session_cache_size: 0,
            certificates: None,
        }
    }

    /// One certificate chain and key from PEM files, with every default of
    /// [`TlsAcceptorBuilder`] (TLS 1.3 and 1.2, ALPN `http/1.1`, tickets, session cache).
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        Self::builder()
            .default_cert(cert.as_ref(), key.as_ref())
            .build()
    }

    /// Starts a configuration from PEM files: default and per-name certificates,
    /// resumption, ALPN, handshake timeout.
    pub fn builder() -> TlsAcceptorBuilder {
        TlsAcceptorBuilder::default()
    }

    pub(crate) fn from_parts(
        config: Arc<ServerConfig>,
        handshake_timeout: Duration,
        session_cache_size: usize,
        certificates: Option<Arc<Reloadable>>,
    ) -> Self {
        TlsAcceptor {
            config,
            handshake_timeout,
            session_cache_size,
            certificates,
        }
    }

    /// Reads the certificate and key files this acceptor was built from (by
    /// [`TlsAcceptorBuilder`]) again and, only if every one loads and matches, serves them
    /// to the handshakes that start from now on, through this acceptor, its clones and
    /// their [`per_core`](Self::per_core) copies. On an error (which names the file) the
    /// certificates served stay as they were. Connections already established and resumed
    /// sessions are not affected. An acceptor made with [`new`](Self::new) has no files:
    /// [`ConfigError::NotReloadable`].
    pub fn reload_certificates(&self) -> Result<(), ConfigError> {
        match &self.certificates {
            Some(certificates) => certificates.reload(),
            None => Err(ConfigError::NotReloadable),
        }
    }

    /// Like [`reload_certificates`](Self::reload_certificates), from the files `files`
    /// names (its [`default_cert`] and [`sni_cert`]s; its other settings are ignored): for
    /// certificates that moved. Only if every one loads and matches are they served, and
    /// read by later reloads; on an error the certificates and files stay as they were.
    ///
    /// [`default_cert`]: TlsAcceptorBuilder::default_cert
    /// [`sni_cert`]: TlsAcceptorBuilder::sni_cert
    pub fn reload_certificates_from(&self, files: &TlsAcceptorBuilder) -> Result<(), ConfigError> {
        match &self.certificates {
            Some(certificates) => certificates.reload_from(files.cert_files()?),
            None => Err(ConfigError::NotReloadable),
        }
    }

    /// The same acceptor with another handshake deadline.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long [`accept`](Self::accept) waits for the handshake to finish.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// A copy with its own, empty session-ID cache (same certificates, same ticket keys):
    /// call it once on each core. For an acceptor made with [`new`](Self::new) this is a
    /// plain clone.
    pub fn per_core(&self) -> TlsAcceptor {
        if self.session_cache_size == 0 {
            return self.clone();
        }
        let mut config = ServerConfig::clone(&self.config);
        config.session_storage = resumption::session_cache(self.session_cache_size);
        TlsAcceptor {
            config: Arc::new(config),
            ..self.clone()
        }
    }

    /// Runs the TLS handshake on `tcp`. Fails with `TimedOut` if it takes longer than the
    /// handshake timeout (the socket is closed), with `InvalidData` on a TLS error (after
    /// sending the alert), with `UnexpectedEof` if the client goes away.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<TlsStream> {
        let conn = ServerConnection::new(Arc::clone(&self.config)).map_err(io::Error::other)?;
        TlsStream::handshake_within(tcp, conn, self.handshake_timeout).await
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("alpn", &self.config.alpn_protocols)
            .field("tickets", &self.config.ticketer.enabled())
            .field("handshake_timeout", &self.handshake_timeout)
            .field("session_cache_size", &self.session_cache_size)
            .finish()
    }
}
