//! A counting global allocator: live heap bytes per process and per thread, so the tests
//! can show that cancelling operations leaks nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Wraps the system allocator and counts live bytes, per process and per thread.
///
/// The stress test measures on the core thread only (`THREAD_LIVE`), so whatever the test
/// harness's own threads allocate meanwhile cannot blur the result; the runtime-teardown
/// test needs the process-wide figure because the core thread is gone when it measures.
struct Counting;

pub(crate) static PROCESS_LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    // `const`-initialised and without a destructor: touching it never allocates, so the
    // allocator may use it.
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    PROCESS_LIVE.fetch_add(delta, Ordering::Relaxed);
    let _ = THREAD_LIVE.try_with(|c| c.set(c.get() + delta));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// adds bookkeeping that neither allocates nor touches the returned memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` come from `System` (through us); the caller guarantees
        // `new_size` is valid for `layout`'s alignment.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

pub(crate) fn thread_live() -> isize {
    THREAD_LIVE.with(Cell::get)
}
