//! coreline-tls: rustls driven over coreline runtime streams.
//!
//! A [`TlsAcceptor`] (built from PEM files with [`TlsAcceptor::builder`], or from any
//! rustls [`ServerConfig`](rustls::ServerConfig)) turns an accepted
//! [`TcpStream`](coreline_runtime::net::TcpStream) into a [`TlsStream`] within a handshake
//! deadline. The stream offers what the HTTP layer needs: [`TlsStream::recv_into`] appends
//! plaintext to a `BytesMut`, [`TlsStream::send_vectored`] encrypts head and body and sends
//! the records with one socket send, [`TlsStream::shutdown`] sends `close_notify`.
//! The stream only moves bytes between the socket and a [`TlsSession`], which does all the
//! TLS byte processing without I/O (and so can be driven over memory, as the fuzz targets do).
//!
//! ```no_run
//! use coreline_runtime::{net::TcpListener, spawn_local, Runtime};
//! use coreline_tls::TlsAcceptor;
//!
//! let tls = TlsAcceptor::from_pem_files("cert.pem", "key.pem")?;
//! Runtime::builder().build()?.run(|_core| {
//!     let tls = tls.per_core(); // this core's session cache; shared ticket keys
//!     async move {
//!         let mut listener = TcpListener::bind("127.0.0.1:8443".parse().unwrap()).unwrap();
//!         while let Ok(tcp) = listener.accept().await {
//!             let tls = tls.clone();
//!             spawn_local(async move {
//!                 let Ok(mut stream) = tls.accept(tcp).await else { return };
//!                 let mut buf = bytes::BytesMut::with_capacity(4096);
//!                 while let Ok(n) = stream.recv_into(&mut buf).await {
//!                     if n == 0 || stream.send_all(&buf.split()).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!                 let _ = stream.shutdown().await;
//!             });
//!         }
//!     }
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Feature `futures-io`: [`TlsStream`] implements the `futures-io` `AsyncRead` and
//! `AsyncWrite` traits (close sends `close_notify`), for libraries written against them.
//!
//! The client end: a [`TlsConnector`] (trusting the system's roots or a given CA) turns a
//! connected `TcpStream` into a `TlsStream<rustls::ClientConnection>`, the same stream type
//! over the other end of the protocol (see [`Side`]).
//!
//! # Protocols
//! TLS 1.3 and 1.2 (1.2 can be switched off), ALPN `http/1.1` (configurable), SNI with a
//! certificate per exact server name and a default ([`SniResolver`]), `close_notify` on
//! [`TlsStream::shutdown`]. A peer's TCP EOF without `close_notify` is an
//! `UnexpectedEof` error from `recv_into`, never a clean end: a truncated message must not
//! look complete. Resumption: stateless tickets with rotating keys shared by all cores,
//! plus a session-ID cache per core (why, in [`resumption`]).
//!
//! # Crypto provider: aws-lc-rs
//! aws-lc-rs is the faster provider (assembly AES-GCM, P-256 and X25519, which TLS at
//! OpenSSL's speed needs), and it builds with nothing but a C compiler: aws-lc-sys compiles
//! AWS-LC through the `cc` crate with pregenerated bindings and pregenerated assembly (`.S`,
//! run through gcc), so no cmake, clang/bindgen or nasm is needed on Linux x86_64. The price
//! is about 50 s of extra compile time on a cold build. Were it to stop building, ring is the
//! fallback: change [`provider`] and the `rustls`/`rcgen` features in `Cargo.toml`.
//!
//! # Copies
//! Receive: the ring's provided buffer is handed to rustls by slice (rustls copies it into
//! its record buffer and decrypts there), then plaintext is copied once into the caller's
//! `BytesMut`. Send: rustls copies plaintext into a record and seals it in place (one
//! allocation per record, inside rustls), the records are moved into the stream's one
//! owned `Vec`, and that `Vec` goes to the kernel by value and comes back for the next send.
//! rustls' unbuffered API (`UnbufferedServerConnection`) could seal straight into our
//! `Vec`, saving that second copy and rustls' per-record allocation on send (receive would
//! cost the same: a `RecvBuf` is read-only, so records must be copied somewhere writable to
//! decrypt in place). It drives the protocol as an explicit state machine, roughly twice
//! this code, which would pay only if a profile showed the send path.
//!
//! # kTLS
//! Not used: every record is sealed and opened by rustls in userspace. kTLS needs the
//! kernel's `tls` module (the `tls` TCP ULP; without it `setsockopt(TCP_ULP)` fails). It
//! would go after the handshake (rustls' `dangerous_into_kernel_connection`, then `TCP_ULP`
//! "tls" with `TLS_TX`/`TLS_RX`), falling back to this userspace path when `setsockopt`
//! refuses.

mod acceptor;
mod certs;
mod config;
mod connector;
mod error;
mod gen;
mod reload;
pub mod resumption;
mod session;
mod side;
mod sni;
mod stream;

pub use acceptor::{TlsAcceptor, DEFAULT_HANDSHAKE_TIMEOUT};
pub use certs::{load_certified_key, load_certs, load_key};
pub use config::TlsAcceptorBuilder;
pub use connector::TlsConnector;
pub use error::ConfigError;
pub use gen::{
    generate_self_signed, generate_self_signed_with, GenOptions, DEFAULT_NAMES, DEFAULT_VALID_DAYS,
    MAX_VALID_DAYS,
};
pub use session::{Received, SealProgress, TlsSession};
pub use side::Side;
pub use sni::SniResolver;
pub use stream::TlsStream;

pub use rustls;

/// The crypto provider every configuration built here uses (aws-lc-rs, default suites:
/// AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305; X25519, P-256, P-384, X25519MLKEM768).
pub fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}
