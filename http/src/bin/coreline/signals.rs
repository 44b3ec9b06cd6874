//! SIGINT/SIGTERM → graceful shutdown, SIGUSR1 → an interval-log dump, without a signal
//! handler: the signals are blocked before any thread starts (so every thread inherits
//! the mask) and one plain thread takes them with `sigwait`.

use nix::sys::signal::{SigSet, Signal};

use coreline_http::ServerHandle;

/// Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread (and every thread it starts
/// later).
pub fn block() -> nix::Result<SigSet> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGUSR1);
    set.thread_block()?;
    Ok(set)
}

/// Starts the thread that turns the first SIGINT/SIGTERM into a graceful shutdown and a
/// second one into an immediate exit, and calls `on_usr1` for each SIGUSR1.
pub fn spawn_waiter(
    set: SigSet,
    handle: ServerHandle,
    on_usr1: impl Fn() + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("coreline-signals".into())
        .spawn(move || {
            while let Ok(signal) = set.wait() {
                if signal == Signal::SIGUSR1 {
                    on_usr1();
                    continue;
                }
                if handle.is_shutting_down() {
                    eprintln!("coreline: {signal} again, exiting now");
                    std::process::exit(130);
                }
                eprintln!("coreline: {signal}: shutting down (finishing requests in flight)");
                handle.shutdown();
            }
        })
        .map(drop)
}
