//! [`ConfigError`]: why certificates, keys or a TLS configuration could not be set up, as
//! one line that names the file concerned.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// An error while loading certificates and keys or building the TLS configuration.
///
/// `Display` is a single line naming the file and the reason, e.g.
/// `/etc/tls/key.pem: private key does not match the certificate in /etc/tls/cert.pem`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read (missing, no permission, a directory...).
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The file is not valid PEM.
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        reason: String,
    },
    /// The certificate file holds no `CERTIFICATE` section.
    EmptyChain {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no PKCS#8, SEC1 or PKCS#1 private key.
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key was found but the crypto provider cannot use it.
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The first certificate of the chain cannot be parsed.
    BadCert {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The private key does not belong to the first certificate of the chain.
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// An SNI name that is not a valid DNS name.
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// No default certificate was configured.
    NoDefaultCert,
    /// Writing a generated certificate or key failed.
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A file that is not to be replaced already exists (or is a symlink).
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Generating a self-signed certificate failed.
    Generate {
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration.
    Tls(rustls::Error),
    /// [`TlsAcceptor::reload_certificates`](crate::TlsAcceptor::reload_certificates) on an
    /// acceptor made from a ready-made rustls config: it has no files to read again.
    NotReloadable,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            ConfigError::Pem { path, reason } => {
                write!(f, "{}: not valid PEM: {reason}", path.display())
            }
            ConfigError::EmptyChain { path } => write!(
                f,
                "{}: empty certificate chain (no -----BEGIN CERTIFICATE----- section)",
                path.display()
            ),
            ConfigError::NoKey { path } => write!(
                f,
                "{}: no private key (expected an unencrypted PKCS#8 'PRIVATE KEY', SEC1 \
                 'EC PRIVATE KEY' or PKCS#1 'RSA PRIVATE KEY' section)",
                path.display()
            ),
            ConfigError::BadKey { path, reason } => {
                write!(f, "{}: unusable private key: {reason}", path.display())
            }
            ConfigError::BadCert { path, reason } => {
                write!(f, "{}: unusable certificate: {reason}", path.display())
            }
            ConfigError::KeyMismatch { cert, key } => write!(
                f,
                "{}: private key does not match the certificate in {}",
                key.display(),
                cert.display()
            ),
            ConfigError::InvalidName { name } => {
                write!(f, "SNI name '{name}' is not a valid DNS name")
            }
            ConfigError::NoDefaultCert => f.write_str("no default certificate configured"),
            ConfigError::Write { path, source } => {
                write!(f, "{}: cannot write: {source}", path.display())
            }
            ConfigError::Exists { path } => {
                write!(f, "{}: already exists, not replaced", path.display())
            }
            ConfigError::Generate { reason } => {
                write!(f, "cannot generate a self-signed certificate: {reason}")
            }
            ConfigError::Tls(e) => write!(f, "TLS configuration refused: {e}"),
            ConfigError::NotReloadable => {
                f.write_str("the TLS acceptor was not built from certificate files")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } | ConfigError::Write { source, .. } => Some(source),
            ConfigError::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConfigError> for io::Error {
    fn from(e: ConfigError) -> Self {
        let kind = match &e {
            ConfigError::Read { source, .. } | ConfigError::Write { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e.to_string())
    }
}
