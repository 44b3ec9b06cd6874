//! `axum-peer`: the axum example's router (http/examples/axum/routes.rs, included as is) on
//! `axum::serve`, which `coreline-bench compare` measures against the same router on
//! coreline (the `axum` example).
//!
//! ```text
//! cargo build --release -p coreline-axum-peer
//! target/release/axum-peer ADDR [CPUS]      e.g. axum-peer 127.0.0.1:3000 0
//! ```
//!
//! The shape of bench/hyper-peer (`../peer_support/per_core.rs`, shared), so that the
//! comparison measures the HTTP stacks and not the threading model: one std thread per CPU
//! in `CPUS` (all CPUs this process may use when omitted), each pinned to its CPU, each
//! running a tokio `current_thread` runtime (one worker on one core) with its own
//! `SO_REUSEPORT` listener, served by `axum::serve`. Every thread serves a clone of
//! one router, so the state is shared as on coreline. The process runs until it is killed.

#[path = "../../../http/examples/axum/routes.rs"]
#[allow(dead_code, unreachable_pub)]
mod routes;

#[path = "../../peer_support/per_core.rs"]
mod per_core;

use std::process::ExitCode;

fn main() -> ExitCode {
    let router = routes::router();
    per_core::main("axum-peer", move |cpu, listener| {
        let router = router.clone();
        async move {
            axum::serve(listener, router)
                .await
                .map_err(|e| format!("axum::serve on CPU {cpu}: {e}"))
        }
    })
}
