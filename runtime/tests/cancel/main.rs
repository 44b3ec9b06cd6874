//! Cancellation safety: every operation's future is dropped before submission, while in
//! flight and after its completion was reaped (but never observed), in random order, and
//! afterwards the process holds the same fds, every provided buffer is back in its ring, no
//! operation is left in the ring and the heap has not grown (a counting global allocator).
//!
//! Focused tests beside the stress run pin down the individual guarantees: an accepted but
//! never observed connection is closed, a buffer abandoned in flight stays alive until the
//! kernel is done with it, and dropping a runtime with operations in flight returns promptly
//! and frees everything.
//!
//! Layout: `stress` runs the cases of `cases`, `net_cases` and `pipe_cases` on the
//! `fixtures`, dropping each future at a point chosen by `drop_point`; `accept`, `buffers`
//! and `shutdown` hold the focused tests. `alloc` (the counting allocator), `probe` (polling
//! by hand), `tracked` (an instrumented buffer), `io` and `harness` are their tools.
//!
//! Knobs: `CORELINE_CANCEL_ITERS` (default 100000), `CORELINE_CANCEL_SEED`, and
//! `CORELINE_CANCEL_TRACE` (print every iteration, to find the case that hangs or leaks).

mod accept;
mod alloc;
mod buffers;
mod cases;
mod drop_point;
mod fixtures;
mod harness;
mod io;
mod net_cases;
mod pipe_cases;
mod probe;
mod shutdown;
mod stress;
mod tracked;
