//! The rustls client configuration: ALPN `http/1.1`, the crypto provider coreline-tls
//! uses, certificates verified against `--cacert` or (by default, as a benchmark tool)
//! not verified at all, and session resumption through a cache per core.

use std::path::Path;
use std::sync::Arc;

use coreline_tls::rustls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Sessions kept per core for resumption (tickets and TLS 1.2 session IDs).
const SESSIONS_PER_CORE: usize = 1024;

/// What every core's client configuration is built from (checked once, up front).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    roots: Option<Arc<RootCertStore>>,
    resume: bool,
    name: ServerName<'static>,
}

impl TlsSettings {
    /// Reads `--cacert` (if any) and checks the server name; errors are one line.
    pub fn new(host: &str, cacert: Option<&Path>, resume: bool) -> Result<TlsSettings, String> {
        let roots = match cacert {
            None => None,
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in coreline_tls::load_certs(path).map_err(|e| e.to_string())? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
                }
                Some(Arc::new(roots))
            }
        };
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| format!("'{host}' is not a valid TLS server name"))?;
        Ok(TlsSettings {
            roots,
            resume,
            name,
        })
    }

    /// The server name to connect to (SNI, and what the certificate must name).
    pub fn server_name(&self) -> ServerName<'static> {
        self.name.clone()
    }

    /// A configuration for one core, with that core's own session cache (shared by the
    /// core's connections, never locked across cores).
    pub fn core_config(&self) -> Arc<ClientConfig> {
        let provider = Arc::new(coreline_tls::provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the provider supports the default protocol versions");
        let mut config = match &self.roots {
            Some(roots) => builder
                .with_root_certificates(roots.clone())
                .with_no_client_auth(),
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoCertificateCheck(provider)))
                .with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.resumption = if self.resume {
            Resumption::store(Arc::new(ClientSessionMemoryCache::new(SESSIONS_PER_CORE)))
        } else {
            Resumption::disabled()
        };
        Arc::new(config)
    }
}

/// Accepts any certificate (without `--cacert`), but still checks the handshake
/// signatures, which are part of the protocol's cost a real client pays.
#[derive(Debug)]
struct NoCertificateCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
