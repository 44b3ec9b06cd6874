//! [`Server`]: configure, bind, run on every core, shut down gracefully.

mod accept;
mod builder;
mod fd_limit;
mod gather;
mod handle;
mod handoff;
mod mode;
mod refuse;
mod run;
mod source;
mod start;
mod steal;

pub use self::builder::Builder;
pub use self::fd_limit::{raise_fd_limit, LOW_FD_LIMIT};
pub use self::handle::ServerHandle;
pub use self::mode::ListenerMode;
pub use self::run::Server;
