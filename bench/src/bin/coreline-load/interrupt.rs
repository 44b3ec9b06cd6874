//! Ctrl-C: the first SIGINT ends the run early and still reports what was measured (as wrk
//! does); a second one quits at once (exit 130).
//!
//! SIGINT is blocked in the main thread before the runtime's threads start (they inherit
//! the mask), and one plain thread waits for it with `sigwait`, so no handler runs on a core.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::sys::signal::{SigSet, Signal};

/// Whether (and when) the run was interrupted.
#[derive(Debug, Default)]
pub struct Interrupt {
    set: AtomicBool,
    at: Mutex<Option<Instant>>,
}

impl Interrupt {
    /// Blocks SIGINT for this thread and those it starts, and starts the waiting thread.
    /// If the signal cannot be blocked, Ctrl-C keeps its default effect (the run just ends).
    pub fn install() -> Arc<Interrupt> {
        let me = Arc::new(Interrupt::default());
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        if set.thread_block().is_err() {
            return me;
        }
        let waiter = me.clone();
        std::thread::spawn(move || {
            while let Ok(_sig) = set.wait() {
                if waiter.is_set() {
                    std::process::exit(130);
                }
                *waiter.at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                waiter.set.store(true, Ordering::Relaxed);
                eprintln!(
                    "\ncoreline-load: interrupted; reporting what was measured (Ctrl-C again quits)"
                );
            }
        });
        me
    }

    /// Whether the run should stop now.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Relaxed)
    }

    /// When the interrupt came, if it did.
    pub fn at(&self) -> Option<Instant> {
        *self.at.lock().unwrap_or_else(|e| e.into_inner())
    }
}
