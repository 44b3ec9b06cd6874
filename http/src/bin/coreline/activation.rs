//! Socket activation for `coreline serve`: when `LISTEN_PID` is this process and
//! `LISTEN_FDS` is set (systemd's `.socket` units, `systemd-socket-activate`), it serves on
//! the sockets passed instead of binding `--listen` and `--tls-listen`.
//!
//! A socket whose `LISTEN_FDNAMES` entry (`FileDescriptorName=`) is `https` or `tls` is
//! served over TLS with `--tls-cert`/`--tls-key`; every other one (unnamed sockets are
//! `unknown`) is plain HTTP. Every core accepts from each socket (see
//! `Builder::listen_inherited`).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use coreline_http::Builder;
use coreline_runtime::net::{take_listen_fds, TcpListener};
use coreline_tls::TlsAcceptor;

/// The `LISTEN_FDNAMES` entries that mark an HTTPS socket.
pub const TLS_NAMES: [&str; 2] = ["https", "tls"];

/// Set when a TLS socket was passed: `--tls-cert` then needs no `--tls-listen`.
static TLS_INHERITED: AtomicBool = AtomicBool::new(false);

/// The sockets passed by the service manager, checked.
#[derive(Debug, Default)]
pub struct Inherited {
    /// Plain HTTP sockets.
    pub plain: Vec<OwnedFd>,
    /// HTTPS sockets (named `https` or `tls`).
    pub tls: Vec<OwnedFd>,
}

impl Inherited {
    /// Whether socket activation passed any socket.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.tls.is_empty()
    }
}

/// Takes the passed sockets (and removes `LISTEN_*` from the environment). Call at the
/// start of `main`, before any thread starts. `Err`: one line naming the variable or the
/// fd that is wrong (not a listening TCP socket, not open).
pub fn take() -> Result<Inherited, String> {
    let fds = take_listen_fds().map_err(|e| format!("socket activation: {e}"))?;
    let mut inherited = Inherited::default();
    for passed in fds {
        let (number, name) = (passed.number(), passed.name);
        TcpListener::check_inherited(passed.fd.as_fd())
            .map_err(|e| format!("socket activation: fd {number} (named {name:?}) {e}"))?;
        match TLS_NAMES.contains(&name.as_str()) {
            true => inherited.tls.push(passed.fd),
            false => inherited.plain.push(passed.fd),
        }
    }
    TLS_INHERITED.store(!inherited.tls.is_empty(), Ordering::Relaxed);
    Ok(inherited)
}

/// Whether [`take`] found a TLS socket.
pub fn tls_inherited() -> bool {
    TLS_INHERITED.load(Ordering::Relaxed)
}

/// Adds the sockets of socket activation to `builder`: plain ones, and the TLS ones if
/// there is a certificate (otherwise they are closed, with a warning). `Err` if none is left.
pub fn serve_on(
    mut builder: Builder,
    inherited: Inherited,
    tls: Option<&TlsAcceptor>,
) -> Result<Builder, String> {
    if inherited.is_empty() {
        return Ok(builder);
    }
    let served = inherited.plain.len() + tls.map_or(0, |_| inherited.tls.len());
    if tls.is_none() && !inherited.tls.is_empty() {
        log::warn!(
            "coreline: socket activation: {} socket(s) named {} not served: no --tls-cert and --tls-key",
            inherited.tls.len(),
            TLS_NAMES.join(" or ")
        );
    }
    if served == 0 {
        return Err("socket activation: no socket to serve on".into());
    }
    for fd in inherited.plain {
        builder = builder.listen_inherited(fd);
    }
    if let Some(acceptor) = tls {
        for fd in inherited.tls {
            builder = builder.tls_listen_inherited(fd, acceptor.clone());
        }
    }
    Ok(builder)
}
