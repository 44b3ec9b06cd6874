//! Sockets and pipes for the test's own side of the I/O: buffer sizes, filling and draining
//! without blocking, and pairs of a runtime fd with a plain blocking peer.

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use coreline_runtime::net::TcpStream;
use coreline_runtime::{ops, SharedFd};
use nix::errno::Errno;
use nix::sys::socket::{self as nixsock, MsgFlags};

/// Bytes readable without blocking on a socket or pipe.
pub(crate) fn fionread(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points at a live local.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n as *mut libc::c_int) };
    assert_eq!(r, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    n as usize
}

/// Sets a socket buffer size option (which also turns off the kernel's autotuning of it).
pub(crate) fn set_sock_buf(fd: RawFd, option: libc::c_int, bytes: libc::c_int) {
    // SAFETY: we pass a pointer to a live int and its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            &bytes as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

/// Sends from `fd` without blocking until the socket takes no more: a send issued next
/// really waits in the kernel.
pub(crate) fn fill_socket(fd: RawFd) {
    let chunk = [0x5a_u8; 16 * 1024];
    loop {
        match nixsock::send(fd, &chunk, MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL) {
            Ok(_) => {}
            Err(Errno::EAGAIN) => return,
            Err(e) => panic!("filling a socket: {e}"),
        }
    }
}

/// Receives and discards what is queued on `fd` without blocking; returns the byte count.
pub(crate) fn drain_socket(fd: RawFd) -> usize {
    let mut buf = [0_u8; 16 * 1024];
    let mut total = 0;
    loop {
        match nixsock::recv(fd, &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(Errno::EAGAIN) => return total,
            Err(e) => panic!("draining a socket: {e}"),
        }
    }
}

/// Reads exactly what a pipe holds right now (never blocks).
pub(crate) fn drain_pipe(reader: &mut File) -> usize {
    let n = fionread(reader.as_raw_fd());
    let mut buf = vec![0_u8; n];
    reader.read_exact(&mut buf).expect("draining a pipe");
    n
}

/// A pipe as (read end, write end).
pub(crate) fn pipe_pair() -> (SharedFd, SharedFd) {
    ops::direct::pipe().expect("pipe")
}

/// A fresh, unshared pipe end as a plain blocking `File` for the test's own I/O.
pub(crate) fn into_file(fd: SharedFd) -> File {
    File::from(fd.try_unwrap().expect("fresh pipe end is not shared"))
}

/// A fresh pipe end for the runtime's ops plus a duplicate (same open file description)
/// for the test's own blocking I/O.
pub(crate) fn with_dup(fd: SharedFd) -> (SharedFd, File) {
    let file = into_file(fd);
    let dup = file.try_clone().expect("dup");
    (SharedFd::new(OwnedFd::from(file)), dup)
}

/// A coreline stream connected to a plain blocking std peer.
pub(crate) async fn stream_pair(listener: &StdListener) -> (TcpStream, StdStream) {
    let stream = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .expect("connect");
    let (peer, _) = listener.accept().expect("accept");
    (stream, peer)
}
