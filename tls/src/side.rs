//! [`Side`]: which end of a TLS connection a session or stream drives.

use std::ops::DerefMut;

use rustls::{ClientConnection, ConnectionCommon, ServerConnection};

/// A rustls connection of either end: [`ServerConnection`] (accepted streams) or
/// [`ClientConnection`] (streams to an upstream). Everything [`TlsSession`](crate::TlsSession)
/// and [`TlsStream`](crate::TlsStream) do is common to both; only the handshake's start and
/// the per-end accessors differ.
pub trait Side: DerefMut<Target = ConnectionCommon<<Self as Side>::Data>> + sealed::Sealed {
    /// rustls' per-end connection state.
    type Data;
}

impl Side for ServerConnection {
    type Data = rustls::server::ServerConnectionData;
}

impl Side for ClientConnection {
    type Data = rustls::client::ClientConnectionData;
}

mod sealed {
    /// Only rustls' two connection types are sides.
    pub trait Sealed {}
    impl Sealed for rustls::ServerConnection {}
    impl Sealed for rustls::ClientConnection {}
}
