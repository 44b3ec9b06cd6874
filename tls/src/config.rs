//! `TlsAcceptorBuilder`: a [`TlsAcceptor`] from PEM files, with SNI, resumption and ALPN.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::version::{TLS12, TLS13};
use rustls::ServerConfig;

use crate::acceptor::DEFAULT_HANDSHAKE_TIMEOUT;
use crate::reload::{CertFiles, Reloadable};
use crate::resumption::{self, DEFAULT_SESSION_CACHE_SIZE};
use crate::{ConfigError, TlsAcceptor};

/// Builds a [`TlsAcceptor`]; every file is read and checked in [`build`](Self::build).
///
/// Defaults: TLS 1.3 and 1.2, ALPN `http/1.1`, rotating session tickets, a session-ID
/// cache of [`DEFAULT_SESSION_CACHE_SIZE`] per core, a 10 s handshake timeout.
#[derive(Debug, Clone)]
pub struct TlsAcceptorBuilder {
    default: Option<(PathBuf, PathBuf)>,
    sni: Vec<(String, PathBuf, PathBuf)>,
    handshake_timeout: Duration,
    session_cache_size: usize,
    tickets: bool,
    tls12: bool,
    alpn: Vec<Vec<u8>>,
}

impl Default for TlsAcceptorBuilder {
    fn default() -> Self {
        TlsAcceptorBuilder {
            default: None,
            sni: Vec::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            session_cache_size: DEFAULT_SESSION_CACHE_SIZE,
            tickets: true,
            tls12: true,
            alpn: vec![b"http/1.1".to_vec()],
        }
    }
}

impl TlsAcceptorBuilder {
    /// The chain (PEM, leaf first) and key served when no SNI name matches. Required.
    pub fn default_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.default = Some((cert.into(), key.into()));
        self
    }

    /// The chain and key served to clients asking for `name` (exact match, any case).
    pub fn sni_cert(
        mut self,
        name: impl Into<String>,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.sni.push((name.into(), cert.into(), key.into()));
        self
    }

    /// How long a handshake may take before the connection is closed.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sessions kept by each cache for session-ID resumption; 0 disables the cache.
    pub fn session_cache_size(mut self, size: usize) -> Self {
        self.session_cache_size = size;
        self
    }

    /// Whether to issue stateless session tickets (default on).
    pub fn tickets(mut self, on: bool) -> Self {
        self.tickets = on;
        self
    }

    /// Whether to offer TLS 1.2 besides 1.3 (default on).
    pub fn tls12(mut self, on: bool) -> Self {
        self.tls12 = on;
        self
    }

    /// The ALPN protocols to agree to, in order of preference (default `http/1.1`). A
    /// client offering ALPN with none of them is refused, as RFC 7301 requires; clients
    /// that offer no ALPN are served.
    pub fn alpn_protocols(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = protocols;
        self
    }

    /// The certificate and key files named so far.
    pub(crate) fn cert_files(&self) -> Result<CertFiles, ConfigError> {
        let default = self.default.clone().ok_or(ConfigError::NoDefaultCert)?;
        Ok(CertFiles {
            default,
            sni: self.sni.clone(),
        })
    }

    /// Reads and checks every certificate and key and builds the acceptor.
    pub fn build(self) -> Result<TlsAcceptor, ConfigError> {
        let resolver = Arc::new(Reloadable::load(self.cert_files()?)?);
        let versions: &[&rustls::SupportedProtocolVersion] = if self.tls12 {
            &[&TLS13, &TLS12]
        } else {
            &[&TLS13]
        };
        let mut config = ServerConfig::builder_with_provider(Arc::new(crate::provider()))
            .with_protocol_versions(versions)
            .map_err(ConfigError::Tls)?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.alpn_protocols = self.alpn;
        config.session_storage = resumption::session_cache(self.session_cache_size);
        if self.tickets {
            config.ticketer = resumption::ticketer()?;
        }
        Ok(TlsAcceptor::from_parts(
            Arc::new(config),
            self.handshake_timeout,
            self.session_cache_size,
            Some(resolver),
        ))
    }
}
