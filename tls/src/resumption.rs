//! Session resumption: stateless tickets from one rotating [`Ticketer`] shared by every
//! core, and a stateful session-ID cache per core.
//!
//! Why tickets are shared and the cache is not: with `SO_REUSEPORT` a client's next
//! connection usually lands on another core. A ticket carries the session itself,
//! encrypted under keys every core holds, so it resumes anywhere. The cache (used by
//! TLS 1.2 clients that do not do tickets) is a mutex-protected map; one per core keeps
//! that lock uncontended, at the price of resuming such clients only when they return to
//! the same core. Build one with [`TlsAcceptor::per_core`](crate::TlsAcceptor::per_core)
//! on each core, or share one cache by cloning a single acceptor everywhere.
//!
//! [`Ticketer`]: rustls::crypto::aws_lc_rs::Ticketer

use std::sync::Arc;

use rustls::server::StoresServerSessions;
use rustls::server::{NoServerSessionStorage, ProducesTickets, ServerSessionMemoryCache};

use crate::ConfigError;

/// Default capacity of each core's session-ID cache (sessions; about 200 bytes each).
pub const DEFAULT_SESSION_CACHE_SIZE: usize = 8192;

/// A ticket encrypter whose key rotates every 6 hours; tickets stay valid for 12 (the
/// previous key is kept for decryption). Keys are random per process, so tickets do not
/// survive a restart.
pub fn ticketer() -> Result<Arc<dyn ProducesTickets>, ConfigError> {
    rustls::crypto::aws_lc_rs::Ticketer::new().map_err(ConfigError::Tls)
}

/// An in-memory session cache of `size` entries (least recently inserted evicted), or no
/// cache at all for `size == 0`.
pub fn session_cache(size: usize) -> Arc<dyn StoresServerSessions> {
    if size == 0 {
        Arc::new(NoServerSessionStorage {})
    } else {
        ServerSessionMemoryCache::new(size)
    }
}
