//! A per-core cache of open files, like nginx's `open_file_cache`: a hit serves the file
//! without `openat2` + `statx` + `close` (the ring's `statx` alone costs a hand-off to an
//! io-wq thread and back).
//!
//! Invalidation, decided so that a hit is never staler than a miss in what matters:
//! - Every hit re-reads the metadata of the cached fd (`statx_fd_now`, a direct system
//!   call on an in-memory inode). A file rewritten or truncated in place is therefore
//!   served with its current size, `Last-Modified` and `ETag`, as without the cache.
//! - A file deleted, or replaced by a rename over it (how deploys update files), has no
//!   links left (`nlink == 0`): the entry is dropped and the path opened again.
//! - What the fd cannot see — the path now naming another file while the old one still
//!   has a link (moved away, a symlink retargeted, a directory's `index.html` replaced
//!   by a hard link) — is picked up when the entry expires: entries are trusted for
//!   [`VALID_MS`] after their open (nginx's `open_file_cache_valid`, default 60 s), then
//!   the path is opened again. Re-opening once a second per file costs nothing at any
//!   request rate that makes the cache matter.
//! - Entries only come from a successful `openat2(RESOLVE_BENEATH)` from the root, so a
//!   symlink swapped to point outside the root is never followed: the cache at most
//!   serves, for under a second, the file that was inside the root when it was opened.
//!
//! Only successes are cached (a 404 is looked up again). The cache holds at most
//! [`MAX_ENTRIES`] fds per core and root, fewer under a low open-file limit
//! ([`max_entries`]); when full, the least recently used goes, and an open that fails
//! with `EMFILE`/`ENFILE` empties the core's cache and tries once more.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use coreline_runtime::fs::File;
use coreline_runtime::{ops, AsSharedFd};

use super::cond::Validators;
use crate::clock;
use crate::fnv::FnvBuild;

/// How long (ms) an entry's path → file binding is trusted after its open.
pub(crate) const VALID_MS: u64 = 1000;

/// Open files kept per core and root, at most.
pub(crate) const MAX_ENTRIES: usize = 256;

/// Entries per core and root: [`MAX_ENTRIES`], or less so that all cores together keep
/// at most 1/8 of the open-file limit in the cache (with the common soft limit of 1,024
/// on 2 CPUs: 64 each). Connections need the fds more. Called where the server is set
/// up, before threads are pinned (a pinned thread sees one CPU).
pub(crate) fn max_entries() -> usize {
    use nix::sys::resource::{getrlimit, Resource};
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    usize::try_from(soft / 8 / cpus).map_or(MAX_ENTRIES, |n| n.min(MAX_ENTRIES))
}

/// Closes every cached file of this core (e.g. when an open failed for want of fds).
pub(crate) fn clear() {
    CACHE.with(|c| c.borrow_mut().roots.clear());
}

/// A served file: the open file, its current metadata and the headers that describe it.
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) stat: ops::Statx,
    pub(crate) content_type: &'static str,
    pub(crate) validators: Validators,
}

struct Entry {
    file: File,
    content_type: &'static str,
    /// Formatted for the metadata seen last; remade when size or mtime change.
    validators: Validators,
    opened_ms: u64,
    used: u64,
}

/// Request path (decoded, relative) → entry, for one root,
/// hashed with FNV-1a: the keys are short paths chosen by clients, but the map is bounded
/// and evicts, so a collision flood can only slow its own lookups.
type Files = HashMap<Box<[u8]>, Entry, FnvBuild>;

#[derive(Default)]
struct Cache {
    /// Per `StaticFiles` instance (its id): few, so a list.
    roots: Vec<(usize, Files)>,
    /// Use counter for least-recently-used eviction.
    clock: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The cached file for `rel` under root number `root`, with fresh metadata, if valid.
pub(crate) fn lookup(root: usize, rel: &Path) -> Option<Opened> {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.clock += 1;
        let tick = c.clock;
        let files = &mut c.roots.iter_mut().find(|(id, _)| *id == root)?.1;
        let key = rel.as_os_str().as_bytes();
        let entry = files.get_mut(key)?;
        let fresh = clock::now_ms().saturating_sub(entry.opened_ms) < VALID_MS;
        let stat = if fresh {
            ops::direct::statx_fd_now(entry.file.as_shared_fd())
                .ok()
                .filter(|s| s.nlink > 0 && s.is_file())
        } else {
            None
        };
        let Some(stat) = stat else {
            files.remove(key); // the fd closes when the last response using it is done
            return None;
        };
        if !entry
            .validators
            .describe(stat.size, stat.mtime_sec, stat.mtime_nsec)
        {
            entry.validators = Validators::new(stat.size, stat.mtime_sec, stat.mtime_nsec);
        }
        entry.used = tick;
        Some(Opened {
            file: entry.file.clone(),
            stat,
            content_type: entry.content_type,
            validators: entry.validators.clone(),
        })
    })
}

/// Remembers a file just opened beneath root number `root` for `rel`, keeping at most
/// `max` entries for that root.
pub(crate) fn insert(root: usize, rel: &Path, opened: &Opened, max: usize) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.clock += 1;
        let tick = c.clock;
        if !c.roots.iter().any(|(id, _)| *id == root) {
            c.roots.push((root, Files::default()));
        }
        let Some((_, files)) = c.roots.iter_mut().find(|(id, _)| *id == root) else {
            return;
        };
        let key = rel.as_os_str().as_bytes();
        if max == 0 {
            return;
        }
        if files.len() >= max && !files.contains_key(key) {
            let oldest = files
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                files.remove(&oldest);
            }
        }
        files.insert(
            key.into(),
            Entry {
                file: opened.file.clone(),
                content_type: opened.content_type,
                validators: opened.validators.clone(),
                opened_ms: clock::now_ms(),
                used: tick,
            },
        );
    });
}
