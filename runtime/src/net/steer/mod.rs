//! Steering new connections to the least-loaded core: per-core `SO_REUSEPORT` listeners
//! with a `SK_REUSEPORT` program (`SO_ATTACH_REUSEPORT_EBPF`) that picks, for each new
//! connection, the listener of the core with the lowest published load.
//!
//! [`SteerLoads`]: the cores' loads, an array map mapped into this process, so publishing
//! one is a store, not a syscall. [`SteerGroup`]: one address's program and the map of its
//! per-core listeners. [`RunDelay`]: a core's lag, from the scheduler's statistics.
//! `bpf`: the raw `bpf(2)` calls. `program`: the hand-assembled program and its rules
//! (which cores it passes over, and why). `takeover`: another core accepting from a
//! lagging core's listener ([`PeerListener`]), and the rule for when. `handoff`: a
//! lagging core passing the connections it accepted to a healthy core.
//!
//! Cores publish when they have work (a connection accepted, opened or closed), not on
//! a timer, so an idle core sleeps: its old entry with nothing pending means "idle,
//! woken by the next connection", not "gone".

mod bpf;
mod handoff;
mod lag;
mod program;
mod takeover;

pub use lag::RunDelay;
pub use takeover::{PeerListener, PublishMark};

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::TcpListener;
use bpf::MappedArray;
use program::{ACCEPTED, LAG, LAG_AT, OPEN, PENDING_SINCE, STAMP, STEERED, VALUE_SIZE};

/// The error of a refused `bpf(2)` call, saying what is missing.
fn refused(what: &str, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{what}: {e} (needs CAP_BPF or CAP_SYS_ADMIN)"),
        ),
        Some(libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP) => io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{what}: {e} (the kernel does not support it)"),
        ),
        _ => io::Error::new(e.kind(), format!("{what}: {e}")),
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock of the program's `bpf_ktime_get_ns`.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live timespec the call fills in; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The cores' loads that steering programs read: one entry per core, written by that
/// core with [`publish`](Self::publish).
pub struct SteerLoads {
    map: OwnedFd,
    values: MappedArray,
    cores: u32,
}

impl SteerLoads {
    /// How long connections sent to a core may stay unaccepted before they are taken for
    /// handshakes that never completed: the program stops counting their wait as the
    /// core's lag, and the core forgets them when it next publishes.
    pub const SETTLE: Duration = Duration::from_secs(1);
    /// How far above twice the lowest lag of the cores a core's lag (its remembered lag,
    /// or the wait of the connections sent to it, whichever is larger) may be and the
    /// core still get connections. Measured (kernel-tuning experiment 7): at 10 ms a core
    /// left a few CPU slices (its remembered lag a few ms) still passed, and the connections
    /// it accepted in its slices, 1.5 % of all, were the p99 (9.6 ms against 0.18 ms with
    /// both cores healthy); at 2 ms it gets none and the p99 is the healthy one's.
    pub const LAG_SLACK: Duration = Duration::from_millis(2);
    /// A remembered lag halves every `2^LAG_SHIFT` nanoseconds (537 ms).
    pub const LAG_SHIFT: u32 = 29;

    /// Creates the loads map for `cores` cores, every entry zero (idle).
    /// Errors: the kernel's refusal, saying which capability is missing (`PermissionDenied`)
    /// or that the kernel lacks the feature (`Unsupported`).
    pub fn new(cores: usize) -> io::Result<Arc<SteerLoads>> {
        let cores = u32::try_from(cores.max(1)).map_err(io::Error::other)?;
        let map = bpf::map_create(
            bpf::MAP_ARRAY,
            VALUE_SIZE,
            cores,
            bpf::F_MMAPABLE,
            "cl_loads",
        )
        .map_err(|e| refused("cannot create the steering loads map", e))?;
        let values = MappedArray::new(&map, (VALUE_SIZE * cores) as usize)
            .map_err(|e| refused("cannot map the steering loads", e))?;
        Ok(Arc::new(SteerLoads { map, values, cores }))
    }

    /// The number of cores.
    pub fn cores(&self) -> usize {
        self.cores as usize
    }

    fn word(&self, core: usize, field: usize) -> &std::sync::atomic::AtomicU64 {
        self.values.word(core * VALUE_SIZE as usize + field)
    }

    /// Publishes core `core`'s open connections and how many it accepted in all, stamped
    /// with the time. The program counts a core's load as its open connections plus those
    /// it sent the core that the core has not accepted yet. Connections pending longer
    /// than [`SETTLE`](Self::SETTLE) are forgotten here. Panics if `core` is out of range.
    pub fn publish(&self, core: usize, open: u64, accepted: u64) {
        let now = monotonic_ns();
        self.word(core, OPEN).store(open, Ordering::Relaxed);
        self.word(core, ACCEPTED).store(accepted, Ordering::Relaxed);
        // Connections the kernel's hash placed (before a program was attached, or while
        // every entry was stale) were accepted without being counted as steered: count
        // them now, or the difference would hide real unaccepted ones.
        let steered = self.word(core, STEERED).load(Ordering::Relaxed);
        if accepted > steered {
            self.word(core, STEERED)
                .fetch_add(accepted - steered, Ordering::Relaxed);
        }
        let since = self.word(core, PENDING_SINCE).load(Ordering::Relaxed);
        if now.saturating_sub(since) > Self::SETTLE.as_nanos() as u64 {
            self.settle(core);
        }
        self.word(core, STAMP).store(now, Ordering::Release);
    }

    /// Publishes a lag core `core` measured (see [`RunDelay`]). The core's remembered lag
    /// becomes this one if it is higher than the remembered one as decayed by now
    /// (halving every `2^LAG_SHIFT` ns, as the program decays it).
    pub fn publish_lag(&self, core: usize, lag: Duration) {
        let now = monotonic_ns();
        let lag = u64::try_from(lag.as_nanos()).unwrap_or(u64::MAX);
        if lag >= self.lag_ns(core, now) {
            self.word(core, LAG_AT).store(now, Ordering::Relaxed);
            self.word(core, LAG).store(lag, Ordering::Relaxed);
        }
    }

    /// Core `core`'s remembered lag as decayed by now, as the program sees it.
    pub fn lag(&self, core: usize) -> Duration {
        Duration::from_nanos(self.lag_ns(core, monotonic_ns()))
    }

    fn lag_ns(&self, core: usize, now: u64) -> u64 {
        let at = self.word(core, LAG_AT).load(Ordering::Relaxed);
        let lag = self.word(core, LAG).load(Ordering::Relaxed);
        lag::decayed(lag, now.saturating_sub(at), Self::LAG_SHIFT)
    }

    /// Forgets the connections counted as on their way to core `core` that it has not
    /// accepted, so that handshakes that never completed stop counting against it
    /// ([`publish`](Self::publish) does it for those older than
    /// [`SETTLE`](Self::SETTLE)).
    pub fn settle(&self, core: usize) {
        let accepted = self.word(core, ACCEPTED).load(Ordering::Relaxed);
        let steered = self.word(core, STEERED).load(Ordering::Relaxed);
        if steered > accepted {
            self.word(core, STEERED)
                .fetch_sub(steered - accepted, Ordering::Relaxed);
        }
    }

    /// Core `core`'s load as the program sees it: open connections plus those sent to it
    /// and not accepted yet.
    pub fn load(&self, core: usize) -> u64 {
        let open = self.word(core, OPEN).load(Ordering::Relaxed);
        let steered = self.word(core, STEERED).load(Ordering::Relaxed);
        let accepted = self.word(core, ACCEPTED).load(Ordering::Relaxed);
        open + steered.saturating_sub(accepted)
    }
}

impl std::fmt::Debug for SteerLoads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SteerLoads")
            .field("map", &self.map.as_raw_fd())
            .field("cores", &self.cores)
            .finish()
    }
}

/// The steering of one listening address: the loaded program and the map of each core's
/// listener for it. Every core binds its own `SO_REUSEPORT` listener and [`join`]s it,
/// and [`leave`]s before closing it.
///
/// [`join`]: SteerGroup::join
/// [`leave`]: SteerGroup::leave
#[derive(Debug)]
pub struct SteerGroup {
    sockets: OwnedFd,
    prog: OwnedFd,
    loads: Arc<SteerLoads>,
    /// A duplicate of each joined core's listener, for [`peer`](SteerGroup::peer).
    listeners: Mutex<Vec<Option<OwnedFd>>>,
    /// Each core's connections handed to it by a lagging core.
    inboxes: handoff::Inboxes,
}

impl SteerGroup {
    /// Loads the program for one address, reading `loads`. Errors as
    /// [`SteerLoads::new`]'s; a program the verifier refused carries the verifier's last
    /// log line.
    pub fn new(loads: Arc<SteerLoads>) -> io::Result<SteerGroup> {
        let sockets = bpf::map_create(bpf::MAP_REUSEPORT_SOCKARRAY, 8, loads.cores, 0, "cl_socks")
            .map_err(|e| refused("cannot create the steering sockets map", e))?;
        let ns = |d: Duration| i32::try_from(d.as_nanos()).unwrap_or(i32::MAX);
        let rules = program::Rules {
            settle_ns: ns(SteerLoads::SETTLE),
            lag_slack_ns: ns(SteerLoads::LAG_SLACK),
            lag_shift: SteerLoads::LAG_SHIFT as i32,
        };
        let insns = program::steering(loads.cores, &loads.map, &sockets, rules);
        let prog = bpf::prog_load(&insns, "cl_steer")
            .map_err(|e| refused("cannot load the steering program", e))?;
        let listeners = Mutex::new((0..loads.cores()).map(|_| None).collect());
        let inboxes = handoff::Inboxes::new(loads.cores());
        Ok(SteerGroup {
            sockets,
            prog,
            loads,
            listeners,
            inboxes,
        })
    }

    /// The loads this group steers by.
    pub fn loads(&self) -> &Arc<SteerLoads> {
        &self.loads
    }

    /// Makes `listener` core `core`'s socket of this group and attaches the program to
    /// the listener's `SO_REUSEPORT` group (the same program for every core's socket).
    /// The kernel drops the socket from the map when it closes. The socket is made
    /// non-blocking (the ring's accept ignores that) so that other cores can try to
    /// accept from it without blocking, and the group keeps a duplicate of it for them
    /// until [`leave`](Self::leave).
    pub fn join(&self, core: usize, listener: &TcpListener) -> io::Result<()> {
        let raw = crate::fd::AsSharedFd::as_shared_fd(listener).raw();
        let index = u32::try_from(core)
            .ok()
            .filter(|&i| i < self.loads.cores)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "core out of range"))?;
        bpf::sockarray_set(&self.sockets, index, raw)
            .map_err(|e| refused("cannot add a listener to the steering map", e))?;
        bpf::attach_reuseport(raw, &self.prog)
            .map_err(|e| refused("cannot attach the steering program", e))?;
        crate::sys::set_nonblocking(raw, true)?;
        let copy = crate::sys::dup(raw)?;
        self.slots()[index as usize] = Some(copy);
        Ok(())
    }

    /// Core `core` stops accepting from its listener: the group drops its duplicate, so
    /// that closing the listener closes the socket. Call it before the listener drains.
    pub fn leave(&self, core: usize) {
        if let Some(slot) = self.slots().get_mut(core) {
            *slot = None;
        }
    }

    /// Core `core`'s listener, for the calling core to take over its queue while it lags
    /// (see [`PeerListener`]); `None` if it has not joined or has left.
    pub fn peer(&self, core: usize) -> Option<PeerListener> {
        let copy = self.slots().get(core)?.as_ref()?.try_clone().ok()?;
        Some(PeerListener::new(copy))
    }

    /// Whether core `core`'s listener is in the group (joined and not left).
    pub fn has(&self, core: usize) -> bool {
        self.slots().get(core).is_some_and(Option::is_some)
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Option<OwnedFd>>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_program_names_the_verifiers_reason() {
        // `exit` with r0 never set: the verifier refuses it.
        let bad = program::exit_only();
        match bpf::prog_load(&bad, "cl_bad") {
            // Unprivileged: nothing reaches the verifier (tests/steer.rs says so when it skips).
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("the verifier says: "), "{text}");
                assert!(text.contains("R0"), "{text}");
            }
            Ok(_) => panic!("the verifier took a program that returns nothing"),
        }
    }
}
