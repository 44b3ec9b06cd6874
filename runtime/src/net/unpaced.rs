//! The "unpaced loopback" rule, shared by listeners
//! ([`ListenOptions::unpaced_loopback`](super::ListenOptions::unpaced_loopback)) and
//! connections made here ([`TcpStream::unpace_on_loopback`](super::TcpStream::unpace_on_loopback)):
//! on loopback, `reno` instead of BBR, which paces each connection with a timer of its
//! own and runs its model on every acknowledgement, buying nothing there.

use std::net::SocketAddr;
use std::os::fd::RawFd;

use crate::sys;

/// Whether `addr` is a loopback address (IPv4 `127.0.0.0/8`, `::1`, or `::ffff:127.x.y.z`).
pub(super) fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// The algorithm to use instead of socket `raw`'s own when that one paces each connection
/// itself: `reno` for BBR (every version is named `bbr...`), which any process may set.
/// `None` keeps the socket's algorithm; otherwise the current one comes too, for a log.
pub(super) fn instead_of(raw: RawFd) -> Option<(String, &'static str)> {
    let current = sys::congestion_control(raw).ok()?;
    current.starts_with("bbr").then_some((current, "reno"))
}
