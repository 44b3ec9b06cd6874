//! Certificate selection by SNI: an exact (case-insensitive) server-name match, else the
//! default certificate. Clients that send no SNI (or an IP address) get the default.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::DnsName;

use crate::ConfigError;

/// A [`ResolvesServerCert`] with one certificate per server name and a default.
#[derive(Debug, Clone)]
pub struct SniResolver {
    default: Arc<CertifiedKey>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl SniResolver {
    /// A resolver that answers every client with `default` until names are added.
    pub fn new(default: Arc<CertifiedKey>) -> Self {
        SniResolver {
            default,
            by_name: HashMap::new(),
        }
    }

    /// Serves `key` to clients asking for `name` (a DNS name; matched exactly, ignoring
    /// case; no wildcards). A later call for the same name replaces the earlier one.
    pub fn add(&mut self, name: &str, key: Arc<CertifiedKey>) -> Result<(), ConfigError> {
        let dns = DnsName::try_from(name).map_err(|_| ConfigError::InvalidName {
            name: name.to_owned(),
        })?;
        // rustls lowercases the client's SNI before `resolve`, so store lowercase too.
        self.by_name.insert(dns.as_ref().to_ascii_lowercase(), key);
        Ok(())
    }

    /// The configured server names (lowercase), in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The certificate served when no name matches.
    pub fn default_key(&self) -> &Arc<CertifiedKey> {
        &self.default
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = hello
            .server_name()
            .and_then(|name| self.by_name.get(name))
            .unwrap_or(&self.default);
        Some(Arc::clone(chosen))
    }
}
