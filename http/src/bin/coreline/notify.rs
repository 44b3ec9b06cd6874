//! Readiness for a service manager (`Type=notify`, `sd_notify(3)`): datagrams of
//! `KEY=value` lines to the socket named by `NOTIFY_SOCKET` (a path, or `@name` in the
//! abstract namespace). Without `NOTIFY_SOCKET` every call here does nothing.
//!
//! Written here rather than with the `sd-notify` crate: that crate connects `@name` as a
//! file path, and systemd itself, and containers, pass abstract sockets.
//!
//! `NOTIFY_SOCKET` is read once at start and removed from the environment (as
//! `sd_notify(unset_environment=1)` does), so a process a handler starts cannot report
//! this server ready or stopping.

use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;

/// The connected socket, if `NOTIFY_SOCKET` was set and could be reached.
static SOCKET: OnceLock<UnixDatagram> = OnceLock::new();

/// Reads `NOTIFY_SOCKET`, removes it from the environment and connects to it. Call once,
/// at the start of `main`, before any thread starts (see the module doc).
pub fn init() {
    let Some(name) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    std::env::remove_var("NOTIFY_SOCKET");
    match connect(&name) {
        Ok(socket) => drop(SOCKET.set(socket)),
        Err(e) => log::warn!(
            "coreline: NOTIFY_SOCKET={}: {e}; the service manager will not hear that it is ready",
            name.to_string_lossy()
        ),
    }
}

fn connect(name: &std::ffi::OsStr) -> std::io::Result<UnixDatagram> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    let socket = UnixDatagram::unbound()?;
    match name.as_bytes().strip_prefix(b"@") {
        Some(abstract_name) => {
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)?;
            socket.connect_addr(&addr)?;
        }
        None => socket.connect(name)?,
    }
    Ok(socket)
}

/// Sends one message (its lines together, as one datagram).
fn send(lines: &[&str]) {
    let Some(socket) = SOCKET.get() else {
        return;
    };
    let message = lines.join("\n") + "\n";
    if let Err(e) = socket.send(message.as_bytes()) {
        log::warn!("coreline: NOTIFY_SOCKET: cannot send {:?}: {e}", lines[0]);
    }
}

/// Every listener accepts: `READY=1`, the pid, and `status` (e.g. where it serves).
pub fn ready(status: &str) {
    let pid = format!("MAINPID={}", std::process::id());
    send(&["READY=1", &pid, &format!("STATUS={status}")]);
}

/// A reload starts: `RELOADING=1` with the monotonic clock's time, which systemd 253 and
/// later require with it.
pub fn reloading() {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as i128 * 1_000_000 + t.tv_nsec() as i128 / 1000)
        .unwrap_or(0);
    send(&[
        "RELOADING=1",
        &format!("MONOTONIC_USEC={now}"),
        "STATUS=reloading",
    ]);
}

/// A reload ended (whatever its outcome: the server serves either way).
pub fn reloaded(status: &str) {
    send(&["READY=1", &format!("STATUS={status}")]);
}

/// A graceful shutdown starts.
pub fn stopping(status: &str) {
    send(&["STOPPING=1", &format!("STATUS={status}")]);
}

/// Once every core accepts (from a thread of its own: `Server::run` holds the main
/// thread): logs `serving …` and tells the service manager `READY=1`. Each core binds its
/// own listening socket as it starts, so a client that waits for this line (or for
/// readiness) is never refused.
pub fn announce_when_serving(
    handle: coreline_http::ServerHandle,
    status: String,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("coreline-ready".into())
        .spawn(move || {
            // A run that fails to start ends the process: no line and no READY=1 then.
            if handle.wait_ready(std::time::Duration::from_secs(24 * 3600)) {
                log::info!("coreline: {status} (Ctrl-C to stop)");
                ready(&status);
            }
        })
        .map(drop)
}
