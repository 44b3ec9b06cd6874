//! Self-signed certificates for local use (`coreline gen-cert DIR`), made with rcgen:
//! an ECDSA P-256 key (cheap handshakes) and a certificate naming every given host.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::ConfigError;

/// The names used when none are given.
pub const DEFAULT_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Writes a new self-signed certificate `DIR/cert.pem` and its PKCS#8 key `DIR/key.pem`
/// (mode 0600), creating `dir` if needed, and returns their paths.
///
/// `names` become subjectAltNames: IP addresses as IP entries, anything else as DNS names;
/// the first is also the subject CN. An empty list means [`DEFAULT_NAMES`].
pub fn generate_self_signed(dir: &Path, names: &[&str]) -> Result<(PathBuf, PathBuf), ConfigError> {
    let names: Vec<String> = if names.is_empty() {
        DEFAULT_NAMES
    } else {
        names
    }
    .iter()
    .map(|n| n.to_string())
    .collect();
    let generate = || -> Result<(String, String), rcgen::Error> {
        let mut params = rcgen::CertificateParams::new(names.clone())?;
        // A distinct subject per certificate: OpenSSL finds issuers by subject, so
        // several self-signed certificates with one shared subject confuse its trust store.
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0].clone());
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok((cert.pem(), key.serialize_pem()))
    };
    let (cert_pem, key_pem) = generate().map_err(|e| ConfigError::Generate {
        reason: e.to_string(),
    })?;
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    write_file(&cert, cert_pem.as_bytes(), 0o644)?;
    write_file(&key, key_pem.as_bytes(), 0o600)?;
    Ok((cert, key))
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    // Replace, not append; the mode applies only when the file is created.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    // An existing key file keeps its old mode otherwise.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    file.write_all(data).map_err(err)
}
