//! Sockets bound elsewhere (socket activation, a parent process): checking that one is a
//! listening TCP socket, and giving it the options that its accepted connections inherit.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Once;

use super::{ListenOptions, TcpListener};
use crate::net::unpaced;
use crate::sys;

/// Sets the options of `options` that the kernel copies from a listener to each socket it
/// accepts: `TCP_NODELAY`, `TCP_DEFER_ACCEPT`, `TCP_FASTOPEN`, `TCP_NOTSENT_LOWAT`,
/// `TCP_CONGESTION` (each only when asked for, so a socket's own setting otherwise stays).
/// `addr` is the address the socket is (to be) bound to.
pub(super) fn apply_accepted_options(
    raw: RawFd,
    options: &ListenOptions,
    addr: &SocketAddr,
) -> io::Result<()> {
    let on = |name, value: i32| sys::set_int_opt(raw, libc::IPPROTO_TCP, name, value);
    if options.nodelay {
        on(libc::TCP_NODELAY, 1)?;
    }
    if let Some(d) = options.defer_accept {
        on(
            libc::TCP_DEFER_ACCEPT,
            d.as_secs().clamp(1, i32::MAX as u64) as i32,
        )?;
    }
    if let Some(q) = options.fastopen {
        on(libc::TCP_FASTOPEN, q.min(i32::MAX as u32) as i32)?;
    }
    if let Some(bytes) = options.notsent_lowat {
        on(libc::TCP_NOTSENT_LOWAT, bytes.min(i32::MAX as u32) as i32)?;
    }
    let congestion_control = match &options.congestion_control {
        Some(name) => Some(name.as_str()),
        None if options.unpaced_loopback && unpaced::is_loopback(addr) => unpaced_instead_of(raw),
        None => None,
    };
    if let Some(name) = congestion_control {
        sys::set_congestion_control(raw, name).map_err(|e| {
            let why = match e.raw_os_error() {
                Some(libc::ENOENT) => "not in this kernel".to_owned(),
                Some(libc::EPERM) => "not allowed (needs CAP_NET_ADMIN unless listed in \
                     net.ipv4.tcp_allowed_congestion_control)"
                    .to_owned(),
                _ => e.to_string(),
            };
            let available = available_congestion_control();
            io::Error::new(
                e.kind(),
                format!("TCP congestion control {name:?}: {why} (available: {available})"),
            )
        })?;
    }
    Ok(())
}

/// [`unpaced::instead_of`] for a loopback listener, said once per process.
fn unpaced_instead_of(raw: RawFd) -> Option<&'static str> {
    let (current, name) = unpaced::instead_of(raw)?;
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        log::debug!(
            "coreline: loopback listener: TCP congestion control {name} instead of {current} \
             (BBR paces each loopback connection with a timer; \
             --congestion-control kernel keeps it)"
        )
    });
    Some(name)
}

/// The kernel's list of congestion control algorithms, for an error message.
fn available_congestion_control() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

impl TcpListener {
    /// Checks that `fd` is a listening TCP socket (IPv4 or IPv6) and sets on it the
    /// options of `options` that accepted connections inherit (`nodelay`, `defer_accept`,
    /// `fastopen`, `notsent_lowat`, `congestion_control`). `backlog` and `reuse_port` stay as whoever bound the
    /// socket set them. Returns its local address.
    ///
    /// Call it once per socket; then each core adopts its own duplicate of the fd
    /// ([`TcpListener::from_std`]) and accepts from the same queue with its own multishot
    /// accept.
    ///
    /// Errors: those of [`check_inherited`](Self::check_inherited), or the error of an
    /// option the kernel refused.
    pub fn prepare_inherited(
        fd: BorrowedFd<'_>,
        options: &ListenOptions,
    ) -> io::Result<SocketAddr> {
        let addr = Self::check_inherited(fd)?;
        apply_accepted_options(fd.as_raw_fd(), options, &addr)?;
        Ok(addr)
    }

    /// Checks that `fd` is a listening TCP socket (IPv4 or IPv6) and returns its local
    /// address. Errors: `InvalidInput` with a message that says what the fd is instead,
    /// such as "is a Unix socket, not a listening TCP socket".
    pub fn check_inherited(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
        let raw = fd.as_raw_fd();
        let not = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("is {what}, not a listening TCP socket"),
            )
        };
        let opt = |name| sys::get_int_opt(raw, libc::SOL_SOCKET, name);
        match opt(libc::SO_DOMAIN) {
            Ok(libc::AF_INET | libc::AF_INET6) => {}
            Ok(libc::AF_UNIX) => return Err(not("a Unix socket")),
            Ok(_) => return Err(not("a socket of another family")),
            Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => return Err(not("no socket")),
            Err(e) => return Err(e),
        }
        if opt(libc::SO_TYPE)? != libc::SOCK_STREAM || opt(libc::SO_PROTOCOL)? != libc::IPPROTO_TCP
        {
            return Err(not("a datagram or raw socket"));
        }
        if opt(libc::SO_ACCEPTCONN)? == 0 {
            return Err(not("a TCP socket that does not listen"));
        }
        sys::socket_addr(raw, false)
    }
}
