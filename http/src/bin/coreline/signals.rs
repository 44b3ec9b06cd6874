//! The signals `coreline serve` answers, as a service manager expects of a server:
//!
//! - SIGINT, SIGTERM, SIGQUIT: graceful shutdown (a second one of any of them exits at
//!   once). SIGQUIT would otherwise dump core; operators and init systems send it to stop
//!   a server gracefully (nginx's own graceful stop).
//! - SIGHUP: reads the `--tls-cert`/`--tls-key`/`--tls-sni` files again and serves them
//!   to new handshakes ([`TlsAcceptor::reload_certificates`]); if any fails to load, the
//!   certificates served stay as they were and the error is logged. Nothing else is
//!   reloaded (other settings take a restart, see `--reuse-port`); the server keeps
//!   serving either way, where SIGHUP's default action would kill it.
//! - SIGHUP also reopens the `--access-log` file (logrotate moves it, then signals).
//! - SIGUSR1: an interval-log dump (`on_usr1`).
//!
//! No signal handler: the signals are blocked before any thread starts (so every thread
//! inherits the mask) and one plain thread takes them with `sigwait`.

use nix::sys::signal::{SigSet, Signal};

use coreline_http::{AccessLog, ServerHandle};
use coreline_tls::TlsAcceptor;

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
/// and a second one into an immediate exit, reloads the certificates of `tls` (if any) and
/// reopens the access log (if any) on each SIGHUP, and calls `on_usr1` for each SIGUSR1.
pub fn spawn_waiter(
    set: SigSet,
    handle: ServerHandle,
    tls: Option<TlsAcceptor>,
    access_log: Option<AccessLog>,
    on_usr1: impl Fn() + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("coreline-signals".into())
        .spawn(move || {
            while let Ok(signal) = set.wait() {
                match signal {
                    Signal::SIGUSR1 => on_usr1(),
                    Signal::SIGHUP => {
                        reopen_access_log(access_log.as_ref());
                        reload(tls.as_ref(), access_log.is_some());
                    }
                    _ if handle.is_shutting_down() => {
                        eprintln!("coreline: {signal} again, exiting now");
                        std::process::exit(130);
                    }
                    _ => {
                        eprintln!(
                            "coreline: {signal}: shutting down (finishing requests in flight)"
                        );
                        handle.shutdown();
                    }
                }
            }
        })
        .map(drop)
}

/// SIGHUP: the access log's file opened again (logrotate moved it), or a line saying why
/// not (the old file stays in use).
fn reopen_access_log(log: Option<&AccessLog>) {
    match log.map(AccessLog::reopen) {
        None => {}
        Some(Ok(())) => log::info!("coreline: SIGHUP: access log reopened"),
        Some(Err(e)) => log::error!(
            "coreline: SIGHUP: access log not reopened, still writing the old file: {e}"
        ),
    }
}

/// SIGHUP: the certificates again, or a line saying why not (none when there are none
/// but the access log was reopened).
fn reload(tls: Option<&TlsAcceptor>, reopened_log: bool) {
    let Some(acceptor) = tls else {
        if reopened_log {
            return;
        }
        log::warn!(
            "coreline: SIGHUP: nothing to reload without --tls-cert (other settings take a \
             restart); still serving"
        );
        return;
    };
    match acceptor.reload_certificates() {
        Ok(()) => eprintln!("coreline: SIGHUP: certificates reloaded (new handshakes get them)"),
        Err(e) => log::error!(
            "coreline: SIGHUP: certificates not reloaded, still serving the previous ones: {e}"
        ),
    }
}
