//! Certificates and keys from PEM files (rustls-pki-types' PEM parser): a chain, and one
//! PKCS#8, SEC1 or PKCS#1 key that must match the chain's first certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::ConfigError;

/// Reads the whole file; the error says which file and what the OS said.
fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn pem_error(path: &Path, e: pem::Error) -> ConfigError {
    ConfigError::Pem {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Loads every `CERTIFICATE` of a PEM file, leaf first. An empty chain is an error.
pub fn load_certs(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let path = path.as_ref();
    let data = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if chain.is_empty() {
        return Err(ConfigError::EmptyChain {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// Loads the first private key of a PEM file: PKCS#8 (`PRIVATE KEY`), SEC1
/// (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
pub fn load_key(path: impl AsRef<Path>) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let path = path.as_ref();
    let data = read(path)?;
    PrivateKeyDer::from_pem_slice(&data).map_err(|e| match e {
        pem::Error::NoItemsFound => ConfigError::NoKey {
            path: path.to_owned(),
        },
        e => pem_error(path, e),
    })
}

/// Loads a chain and its key and checks that they belong together, by comparing the
/// key's SubjectPublicKeyInfo with the leaf certificate's.
pub fn load_certified_key(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<Arc<CertifiedKey>, ConfigError> {
    let (cert, key) = (cert.as_ref(), key.as_ref());
    let chain = load_certs(cert)?;
    let der = load_key(key)?;
    let provider = crate::provider();
    certified_key(chain, der, &provider, cert.to_owned(), key.to_owned())
}

fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    der: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
    cert: PathBuf,
    key: PathBuf,
) -> Result<Arc<CertifiedKey>, ConfigError> {
    let signing = provider
        .key_provider
        .load_private_key(der)
        .map_err(|e| ConfigError::BadKey {
            path: key.clone(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        // Unknown: the key type cannot report its public key; nothing to compare.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(ConfigError::KeyMismatch { cert, key }),
        Err(e) => Err(ConfigError::BadCert {
            path: cert,
            reason: e.to_string(),
        }),
    }
}
