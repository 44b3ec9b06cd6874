//! The signals `coreline serve` answers, as a service manager expects of a server:
//!
//! - SIGINT, SIGTERM, SIGQUIT: graceful shutdown (a second one of any of them exits at
//!   once). SIGQUIT would otherwise dump core; operators and init systems send it to stop
//!   a server gracefully (nginx's own graceful stop).
//! - SIGHUP: logged and ignored, the server keeps serving. Reloading means swapping the
//!   TLS acceptor's configuration, which the acceptor does not support (its rustls
//!   `ServerConfig` is fixed when it is built); a restart (`--reuse-port`) applies changes.
//!   Without this, SIGHUP (a closed terminal, a reload command) would kill the process.
//! - SIGUSR1: an interval-log dump (`on_usr1`).
//!
//! No signal handler: the signals are blocked before any thread starts (so every thread
//! inherits the mask) and one plain thread takes them with `sigwait`.

use nix::sys::signal::{SigSet, Signal};

use coreline_http::ServerHandle;

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
/// and a second one into an immediate exit, logs each SIGHUP, and calls `on_usr1` for
/// each SIGUSR1.
pub fn spawn_waiter(
    set: SigSet,
    handle: ServerHandle,
    on_usr1: impl Fn() + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("coreline-signals".into())
        .spawn(move || {
            while let Ok(signal) = set.wait() {
                match signal {
                    Signal::SIGUSR1 => on_usr1(),
                    Signal::SIGHUP => log::warn!(
                        "coreline: SIGHUP: reloading is not supported, still serving with \
                         the configuration read at start (restart to apply changes)"
                    ),
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
