//! The sweep tick keeps a steered core's lag current when the core has no connection
//! events (a starved core that the program sends nothing).

use std::io;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::config::{Limits, Timeouts};

fn config() -> Config {
    Config {
        limits: Limits::default(),
        timeouts: Timeouts::default(),
        file_body: Default::default(),
        metrics: false,
        rx_timestamps: false,
        busy_poll: Duration::ZERO,
        server_header: None,
        access_log: None,
    }
}

/// The calling thread's id, from `/proc/thread-self` (`PID/task/TID`).
fn this_tid() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name().unwrap().to_string_lossy().into_owned()
}

/// Runs `program args… TID` and says whether it succeeded.
fn run(program: &str, args: &[&str], tid: &str) -> bool {
    Command::new(program)
        .args(args)
        .arg(tid)
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_sweep_tick_publishes_the_lag_of_a_core_without_connection_events() {
    let loads = match SteerLoads::new(2) {
        Ok(loads) => loads,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let core = ConnRegistry::new(config());
    core.publish_loads_to(loads.clone(), 0);
    let before = loads.lag(0);

    // Starve this thread: SCHED_IDLE on one CPU that a busy thread keeps running on, so
    // each of its wake-ups waits for that thread to be preempted.
    let tid = this_tid();
    if !run("taskset", &["-p", "-c", "0"], &tid) || !run("chrt", &["-i", "-p", "0"], &tid) {
        eprintln!("skipped: cannot pin this thread or make it SCHED_IDLE (taskset, chrt)");
        return;
    }
    let spinning = std::sync::Arc::new(AtomicBool::new(true));
    let spinner = {
        let spinning = spinning.clone();
        std::thread::spawn(move || {
            run("taskset", &["-p", "-c", "0"], &this_tid());
            while spinning.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };
    // No accept, open or close: only the sweep tick's call.
    let started = Instant::now();
    let mut lag = before;
    while started.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(RunDelay::EVERY * 2);
        core.check_peers();
        lag = loads.lag(0);
        if lag > before + Duration::from_micros(100) {
            break;
        }
    }
    spinning.store(false, Ordering::Relaxed);
    spinner.join().unwrap();
    assert!(
        lag > before + Duration::from_micros(100),
        "lag {lag:?}, before the starvation {before:?}"
    );
}
