//! `coreline_http::client::Client` against real peers: coreline itself (plain and TLS), a
//! Python `http.server` upstream, and raw sockets that misbehave on purpose (idle closes,
//! silence, smuggling-shaped responses).

mod misbehaving;
mod peers;
mod python;
#[path = "../common/python_upstream.rs"]
mod python_upstream;
mod tls;

use std::future::Future;

use coreline_runtime::{Cores, Runtime};

/// Runs `make()` to completion on a one-core runtime of its own.
pub fn on_core<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send,
    Fut: Future + 'static,
    Fut::Output: Send,
{
    Runtime::builder()
        .cores(Cores::Count(1))
        .build()
        .expect("runtime")
        .block_on(make)
        .expect("runtime ran")
}
