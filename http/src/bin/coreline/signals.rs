//! The signals `coreline serve` answers, as a service manager expects of a server:
//!
//! - SIGINT, SIGTERM, SIGQUIT: graceful shutdown (a second one of any of them exits at
//!   once). SIGQUIT would otherwise dump core; operators and init systems send it to stop
//!   a server gracefully (nginx's own graceful stop).
//! - SIGHUP: [`Reload::run`]: with `--config`, the file read again and checked whole; if
//!   it is valid and its certificates load, `log-level` and the `tls-cert`/`tls-key`/
//!   `tls-sni` files apply, and each other key that changed is logged as taking a
//!   restart; if not, everything stays as it was and one error line says what to fix.
//!   Without `--config`, the certificate files are read again
//!   ([`TlsAcceptor::reload_certificates`]). Connections are not touched, and the server
//!   keeps serving either way, where SIGHUP's default action would kill it. Work that
//!   must follow every SIGHUP goes in [`Reload::on_reload`]: the `--access-log`
//!   file is reopened there (logrotate moves it, then signals).
//! - SIGUSR1: an interval-log dump (`on_usr1`).
//!
//! Under `Type=notify` (see `notify`), a reload is framed by `RELOADING=1` and `READY=1`,
//! and a graceful shutdown starts with `STOPPING=1`.
//!
//! No signal handler: the signals are blocked before any thread starts (so every thread
//! inherits the mask) and one plain thread takes them with `sigwait`.
//!
//! [`TlsAcceptor::reload_certificates`]: coreline_tls::TlsAcceptor::reload_certificates

use nix::sys::signal::{SigSet, Signal};

use coreline_http::ServerHandle;

use crate::reload::Reload;

/// Blocks SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGUSR1 in the calling thread (and every
/// thread it starts later).
pub fn block() -> nix::Result<SigSet> {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGQUIT,
        Signal::SIGHUP,
        Signal::SIGUSR1,
    ] {
        set.add(signal);
    }
    set.thread_block()?;
    Ok(set)
}

/// Starts the thread that turns the first SIGINT/SIGTERM/SIGQUIT into a graceful shutdown
/// and a second one into an immediate exit, runs `reload` on each SIGHUP, and calls
/// `on_usr1` for each SIGUSR1.
pub fn spawn_waiter(
    set: SigSet,
    handle: ServerHandle,
    mut reload: Reload,
    on_usr1: impl Fn() + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("coreline-signals".into())
        .spawn(move || {
            while let Ok(signal) = set.wait() {
                match signal {
                    Signal::SIGUSR1 => on_usr1(),
                    Signal::SIGHUP => {
                        crate::notify::reloading();
                        reload.run();
                        crate::notify::reloaded("serving (reloaded)");
                    }
                    _ if handle.is_shutting_down() => {
                        log::warn!("coreline: {signal} again, exiting now");
                        std::process::exit(130);
                    }
                    _ => {
                        log::info!(
                            "coreline: {signal}: shutting down (finishing requests in flight)"
                        );
                        crate::notify::stopping("draining: finishing requests in flight");
                        handle.shutdown();
                    }
                }
            }
        })
        .map(drop)
}
