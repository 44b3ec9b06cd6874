//! Socket system calls made directly: creating sockets, their options, bind, connect,
//! listen, shutdown and their addresses.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::{check, own_fd, RawAddr};

/// Creates a non-inheritable Unix stream socket.
pub(crate) fn unix_stream_socket() -> io::Result<OwnedFd> {
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    // SAFETY: socket() takes no pointers; the fd it returns is ours alone.
    let fd = check(unsafe { libc::socket(libc::AF_UNIX, kind, 0) })?;
    Ok(own_fd(fd))
}

/// Creates a non-inheritable TCP socket for `addr`'s family.
pub(crate) fn tcp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: socket() takes no pointers; the fd it returns is ours alone.
    let fd = check(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd was just returned by socket() and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets an integer socket option.
pub(crate) fn set_int_opt(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: we pass a pointer to a live i32 and its exact size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &value as *const i32 as *const libc::c_void,
            mem::size_of::<i32>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Sets `TCP_CONGESTION` to the algorithm `name`.
pub(crate) fn set_congestion_control(fd: RawFd, name: &str) -> io::Result<()> {
    // SAFETY: we pass a pointer to the name's live bytes and their exact length.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr() as *const libc::c_void,
            name.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Reads `TCP_CONGESTION`: the name of the socket's congestion control algorithm.
pub(crate) fn congestion_control(fd: RawFd) -> io::Result<String> {
    // The kernel's names are at most TCP_CA_NAME_MAX (16) bytes, NUL-padded.
    let mut name = [0u8; 16];
    let mut len = name.len() as libc::socklen_t;
    // SAFETY: name and len are live locals; len says how many bytes name holds.
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    })?;
    let written = &name[..(len as usize).min(name.len())];
    let end = written
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(written.len());
    Ok(String::from_utf8_lossy(&written[..end]).into_owned())
}

/// Reads an integer socket option.
pub(crate) fn get_int_opt(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: value and len are live locals of the sizes we declare.
    check(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            &mut value as *mut i32 as *mut libc::c_void,
            &mut len,
        )
    })?;
    Ok(value)
}

/// `getsockopt(TCP_INFO)`: the kernel's view of a TCP socket (for a listener,
/// `tcpi_unacked` is its accept-queue depth and `tcpi_sacked` its backlog).
pub(crate) fn tcp_info(fd: RawFd) -> io::Result<libc::tcp_info> {
    // SAFETY: tcp_info is plain old data; all-zero is a valid value.
    let mut info: libc::tcp_info = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: info and len are live locals; len tells the kernel how much it may write
    // (an older kernel writes less and leaves the rest zero).
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            &mut info as *mut libc::tcp_info as *mut libc::c_void,
            &mut len,
        )
    })?;
    Ok(info)
}

pub(crate) fn bind(fd: RawFd, addr: &SocketAddr) -> io::Result<()> {
    let raw = RawAddr::from_std(addr);
    // SAFETY: raw holds a valid sockaddr of length raw.len for the duration of the call.
    check(unsafe { libc::bind(fd, raw.as_ptr(), raw.len) }).map(drop)
}

/// `connect(2)` as a direct call: for a datagram socket it only records the default peer,
/// so it never waits.
pub(crate) fn connect_now(fd: RawFd, addr: &SocketAddr) -> io::Result<()> {
    let raw = RawAddr::from_std(addr);
    // SAFETY: raw holds a valid sockaddr of length raw.len for the duration of the call.
    check(unsafe { libc::connect(fd, raw.as_ptr(), raw.len) }).map(drop)
}

/// `shutdown(fd, SHUT_WR)`: sends FIN after the queued data; never waits.
#[cfg(feature = "futures-io")]
pub(crate) fn shutdown_write(fd: RawFd) -> io::Result<()> {
    // SAFETY: shutdown() takes no pointers.
    check(unsafe { libc::shutdown(fd, libc::SHUT_WR) }).map(drop)
}

pub(crate) fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: listen() takes no pointers.
    check(unsafe { libc::listen(fd, backlog) }).map(drop)
}

/// `getsockname` (`peer == false`) or `getpeername` (`peer == true`).
pub(crate) fn socket_addr(fd: RawFd, peer: bool) -> io::Result<SocketAddr> {
    let mut raw = RawAddr::empty();
    let ptr = &mut raw.storage as *mut _ as *mut libc::sockaddr;
    // SAFETY: ptr/len describe a live sockaddr_storage the kernel may fill.
    let ret = unsafe {
        if peer {
            libc::getpeername(fd, ptr, &mut raw.len)
        } else {
            libc::getsockname(fd, ptr, &mut raw.len)
        }
    };
    check(ret)?;
    raw.to_std()
}
