//! Self-signed certificates for local use (`coreline gen-cert DIR`), made with rcgen:
//! an ECDSA P-256 key (cheap handshakes) and a certificate naming every given host,
//! valid from now for a bounded number of days.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ConfigError;

/// The names used when none are given.
pub const DEFAULT_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Days a generated certificate is valid when not told otherwise.
pub const DEFAULT_VALID_DAYS: u32 = 90;

/// The longest validity accepted, in days: what browsers accept for a server certificate
/// (CA/Browser Forum baseline, 398 days).
pub const MAX_VALID_DAYS: u32 = 398;

/// How [`generate_self_signed_with`] makes and writes a certificate.
///
/// ```
/// let options = coreline_tls::GenOptions::default().days(30).overwrite(true);
/// assert_eq!(options.days, 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GenOptions {
    /// Days the certificate is valid, from now: 1 to [`MAX_VALID_DAYS`].
    pub days: u32,
    /// Whether an existing `cert.pem` or `key.pem` is replaced. Without it an existing
    /// file (or symlink) is [`ConfigError::Exists`] and nothing is written. Either way a
    /// symlink is never followed: it is removed and a new file takes its place.
    pub overwrite: bool,
}

impl Default for GenOptions {
    /// [`DEFAULT_VALID_DAYS`], no overwriting.
    fn default() -> Self {
        GenOptions {
            days: DEFAULT_VALID_DAYS,
            overwrite: false,
        }
    }
}

impl GenOptions {
    /// Sets `days` (see the field).
    #[must_use]
    pub fn days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    /// Sets `overwrite` (see the field).
    #[must_use]
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }
}

/// Writes a new self-signed certificate `DIR/cert.pem` and its PKCS#8 key `DIR/key.pem`
/// (mode 0600), creating `dir` if needed, and returns their paths. Existing files are
/// replaced (see [`generate_self_signed_with`] for the choices).
///
/// `names` become subjectAltNames: IP addresses as IP entries, anything else as DNS names;
/// the first is also the subject CN. An empty list means [`DEFAULT_NAMES`].
pub fn generate_self_signed(dir: &Path, names: &[&str]) -> Result<(PathBuf, PathBuf), ConfigError> {
    let options = GenOptions {
        overwrite: true,
        ..GenOptions::default()
    };
    generate_self_signed_with(dir, names, options)
}

/// Like [`generate_self_signed`], valid for `options.days` from now and replacing
/// existing files only if `options.overwrite`.
pub fn generate_self_signed_with(
    dir: &Path,
    names: &[&str],
    options: GenOptions,
) -> Result<(PathBuf, PathBuf), ConfigError> {
    if !(1..=MAX_VALID_DAYS).contains(&options.days) {
        return Err(ConfigError::Generate {
            reason: format!(
                "validity of {} days is not between 1 and {MAX_VALID_DAYS}",
                options.days
            ),
        });
    }
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
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        params.not_after =
            params.not_before + Duration::from_secs(u64::from(options.days) * 86_400);
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
    if !options.overwrite {
        // Both checked before either is written, so a refusal leaves no half pair.
        for path in [&cert, &key] {
            if path.symlink_metadata().is_ok() {
                return Err(ConfigError::Exists { path: path.clone() });
            }
        }
    }
    write_new_file(&cert, cert_pem.as_bytes(), 0o644, options.overwrite)?;
    write_new_file(&key, key_pem.as_bytes(), 0o600, options.overwrite)?;
    Ok((cert, key))
}

/// Creates `path` with `O_CREAT | O_EXCL` (after unlinking what is there if `replace`).
/// With `O_EXCL` the kernel never follows a symlink at `path` (the create fails with
/// `EEXIST`), so the data cannot go through a link into another file, also when a link
/// is put back between the unlink and the create.
fn write_new_file(path: &Path, data: &[u8], mode: u32, replace: bool) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    if replace {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
            _ => {}
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ConfigError::Exists {
                    path: path.to_owned(),
                }
            } else {
                err(e)
            }
        })?;
    // The umask may have narrowed the mode; the file is ours, so set it exactly.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    file.write_all(data).map_err(err)
}
