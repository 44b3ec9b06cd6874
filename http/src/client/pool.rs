//! [`Pool`]: the idle keep-alive connections of one client, per upstream. Most recently
//! used first (the least likely to have been closed by the upstream); at most
//! `max_idle_per_host` per upstream; none kept past the idle timeout, which a sweeper
//! task enforces while the pool holds any.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::upstream::Upstream;
use crate::fnv::FnvBuild;

/// The shortest sweep period: a tiny idle timeout is enforced on take as well.
const MIN_SWEEP: Duration = Duration::from_millis(100);

/// Idle connections per upstream.
pub(super) struct Pool {
    /// Hashed with FNV-1a: every request looks its upstream up twice (take, then put
    /// back). Keys chosen to collide would only slow the lookups of one core's pool, which
    /// holds idle connections to reachable upstreams only.
    idle: RefCell<HashMap<Upstream, VecDeque<Idle>, FnvBuild>>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    sweeping: Cell<bool>,
}

struct Idle {
    conn: Box<Conn>,
    /// When the idle timeout ends (`None`: beyond what `Instant` holds). Compared, not
    /// subtracted, on every take.
    expires: Option<Instant>,
}

impl Idle {
    fn alive_at(&self, now: Instant) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }
}

impl Pool {
    pub(super) fn new(max_idle_per_host: usize, idle_timeout: Duration) -> Self {
        Pool {
            idle: RefCell::new(HashMap::default()),
            max_idle_per_host,
            idle_timeout,
            sweeping: Cell::new(false),
        }
    }

    /// The most recently parked live connection to `upstream`, if any.
    pub(super) fn take(&self, upstream: &Upstream) -> Option<Box<Conn>> {
        let mut idle = self.idle.borrow_mut();
        let queue = idle.get_mut(upstream)?;
        let now = Instant::now();
        while let Some(entry) = queue.pop_back() {
            if entry.alive_at(now) {
                return Some(entry.conn);
            }
        }
        None
    }

    /// Parks `conn` for the next request to `upstream`; the oldest goes when full.
    pub(super) fn put(self: &Rc<Self>, upstream: &Upstream, mut conn: Box<Conn>) {
        if self.max_idle_per_host == 0 || self.idle_timeout.is_zero() {
            return;
        }
        conn.reused = true;
        {
            let mut idle = self.idle.borrow_mut();
            // Looked up before inserting: the key is cloned only for a new upstream.
            let queue = match idle.get_mut(upstream) {
                Some(queue) => queue,
                None => idle.entry(upstream.clone()).or_default(),
            };
            if queue.len() >= self.max_idle_per_host {
                queue.pop_front();
            }
            queue.push_back(Idle {
                conn,
                expires: Instant::now().checked_add(self.idle_timeout),
            });
        }
        if !self.sweeping.replace(true) {
            coreline_runtime::spawn_local(sweep(Rc::downgrade(self)));
        }
    }

    /// How many connections are parked for `upstream`.
    pub(super) fn idle_count(&self, upstream: &Upstream) -> usize {
        self.idle.borrow().get(upstream).map_or(0, VecDeque::len)
    }

    /// Closes the connections idle for the timeout or longer; whether any are left.
    fn evict_expired(&self) -> bool {
        let now = Instant::now();
        let mut idle = self.idle.borrow_mut();
        idle.retain(|_, queue| {
            // Oldest first: stop at the first one still within its time.
            while queue.front().is_some_and(|e| !e.alive_at(now)) {
                queue.pop_front();
            }
            !queue.is_empty()
        });
        !idle.is_empty()
    }
}

/// Evicts expired connections every half idle timeout until the pool is empty or gone.
async fn sweep(pool: Weak<Pool>) {
    let period = match pool.upgrade() {
        Some(pool) => (pool.idle_timeout / 2).max(MIN_SWEEP),
        None => return,
    };
    loop {
        coreline_runtime::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        if !pool.evict_expired() {
            pool.sweeping.set(false);
            return;
        }
    }
}
