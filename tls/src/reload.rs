//! Certificates replaced while serving ([`TlsAcceptor::reload_certificates`]). An
//! acceptor built from files resolves certificates through [`Reloadable`], which keeps the
//! current [`SniResolver`] behind a lock that handshakes only read (uncontended except
//! during the swap itself): every clone and [`per_core`] copy of the acceptor shares it,
//! since rustls configs share their resolver.
//!
//! [`TlsAcceptor::reload_certificates`]: crate::TlsAcceptor::reload_certificates
//! [`per_core`]: crate::TlsAcceptor::per_core

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::{load_certified_key, ConfigError, SniResolver};

/// The certificate and key files an acceptor serves: the default pair and one pair per
/// SNI name.
#[derive(Debug, Clone)]
pub(crate) struct CertFiles {
    pub(crate) default: (PathBuf, PathBuf),
    pub(crate) sni: Vec<(String, PathBuf, PathBuf)>,
}

impl CertFiles {
    /// Reads and checks every file.
    fn load(&self) -> Result<SniResolver, ConfigError> {
        let (cert, key) = &self.default;
        let mut resolver = SniResolver::new(load_certified_key(cert, key)?);
        for (name, cert, key) in &self.sni {
            resolver.add(name, load_certified_key(cert, key)?)?;
        }
        Ok(resolver)
    }
}

/// A resolver whose certificates can be read again from their files.
#[derive(Debug)]
pub(crate) struct Reloadable {
    /// The files the next [`reload`](Self::reload) reads (those last loaded).
    files: Mutex<CertFiles>,
    current: RwLock<Arc<SniResolver>>,
}

impl Reloadable {
    /// Loads `files` (an error names the file at fault).
    pub(crate) fn load(files: CertFiles) -> Result<Reloadable, ConfigError> {
        let current = RwLock::new(Arc::new(files.load()?));
        Ok(Reloadable {
            files: Mutex::new(files),
            current,
        })
    }

    /// Reads every file again; only if all load do new handshakes get them.
    pub(crate) fn reload(&self) -> Result<(), ConfigError> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.reload_from(files)
    }

    /// Reads `files`; only if all load do new handshakes get them, and do later reloads
    /// read these files.
    pub(crate) fn reload_from(&self, files: CertFiles) -> Result<(), ConfigError> {
        let fresh = Arc::new(files.load()?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        *self.files.lock().unwrap_or_else(|p| p.into_inner()) = files;
        Ok(())
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()));
        current.resolve(hello)
    }
}
