//! coreline-bench: load generator, peer servers and the comparison harness.
//!
//! Empty for now: the issue "The load generator and the comparison harness" fills it.
