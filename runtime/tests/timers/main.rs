//! Timers (ordering, `timeout`, `interval`, sleep latency) and the task/core machinery
//! around them: `spawn_local` + `JoinHandle`, panics, `abort`, a core panicking while
//! another is blocked, and `Handle::spawn_on`.

//!
//! Layout: `sleep` (wake order, latency, `interval`), `timeout`, `tasks` (`spawn_local`,
//! `JoinHandle`, panics, `abort`) and `cross_core` (a core panicking, `Handle::spawn_on`),
//! with the runtimes and helpers they share in `support`.

#[path = "../common/mod.rs"]
mod common;

mod cross_core;
mod sleep;
mod support;
mod tasks;
mod timeout;
