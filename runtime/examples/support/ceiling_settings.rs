//! The `ceiling` example's settings, from the environment variables listed at the top of
//! `ceiling.rs`: the runtime it builds, the listener it binds and where it sends from.

use std::time::Duration;

use coreline_runtime::net::ListenOptions;
use coreline_runtime::{Builder, Cores, RingFlags, Runtime};

/// The listener and output settings (the runtime's are in the [`Builder`] beside them).
#[derive(Clone)]
pub struct Settings {
    /// The listener's options: congestion control and `TCP_NOTSENT_LOWAT`.
    pub listen: ListenOptions,
    /// `CEILING_FIXED_BUF`: send from a registered buffer.
    pub fixed_buf: bool,
    /// `CEILING_SEND_BUNDLE`: send each read's responses as one bundle of a send ring.
    pub send_bundle: bool,
}

/// The runtime builder for `cores` and the other settings, as the environment asks.
pub fn from_env(cores: Cores) -> (Builder, Settings) {
    let flags = RingFlags {
        single_issuer: true,
        defer_taskrun: true,
        coop_taskrun: true,
        taskrun_flag: true,
        no_sqarray: env_number("CEILING_SQARRAY") == 0,
    };
    let builder = Runtime::builder()
        .cores(cores)
        .ring_flags(flags)
        .metrics(env_number("CEILING_METRICS") != 0)
        .busy_poll(Duration::from_micros(
            env_number("CEILING_BUSY_POLL_US").into(),
        ))
        .fixed_files(env_number("CEILING_FIXED_FILES"))
        .recv_bundles(env_number("CEILING_RECV_BUNDLE") != 0)
        .incremental_recv_buffers(env_number("CEILING_BUF_INC") != 0);
    let settings = Settings {
        listen: listen_options(),
        fixed_buf: env_number("CEILING_FIXED_BUF") != 0,
        send_bundle: env_number("CEILING_SEND_BUNDLE") != 0,
    };
    (builder, settings)
}

/// The listener's options from `CEILING_CC` (default `auto`: reno on loopback, as
/// `coreline serve`) and `CEILING_NOTSENT_LOWAT` (default 0: the kernel's).
fn listen_options() -> ListenOptions {
    let options = match std::env::var("CEILING_CC").as_deref() {
        Ok("auto") | Err(_) => ListenOptions::default().unpaced_loopback(true),
        Ok("kernel") => ListenOptions::default(),
        Ok(name) => ListenOptions::default().congestion_control(Some(name.to_string())),
    };
    let lowat = env_number("CEILING_NOTSENT_LOWAT");
    options.notsent_lowat((lowat > 0).then_some(lowat))
}

/// A value of an environment variable, 0 when unset or not a number.
fn env_number(name: &str) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
