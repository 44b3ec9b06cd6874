//! File bodies: small ones read behind the head (one send), larger ones spliced
//! file → pipe → socket (io_uring has no sendfile opcode).
//!
//! The splices are direct, non-blocking system calls on the core, not ring operations:
//! the ring runs every SPLICE on an io-wq worker thread, and the two hand-offs per chunk
//! cost more than the splices (figures: bench/README.md#static-files). What keeps
//! them from blocking the core: the socket is non-blocking (a full socket buffer gives
//! `WouldBlock`, and the wait for room is a ring poll bounded by the write timeout), and
//! the file is spliced directly only when `cachestat` says its pages are in memory;
//! otherwise that chunk goes through the ring's splice, whose io-wq thread waits for the
//! disk instead. (A network filesystem may still check with its server before a splice
//! of cached pages, as it would for nginx's `sendfile`: roots are meant to be local.)
//!
//! Upstream response bodies go the same way from a socket (`splice_socket.rs`), through
//! the same pipes.
//!
//! Each core keeps a small pool of pipes, created once and reused. A pipe goes back to
//! the pool only when it is empty: if a send fails or times out with bytes still in it,
//! the pipe is dropped instead (its contents belong to a dead response).

use std::cell::RefCell;
use std::io;

use coreline_runtime::fs::File;
use coreline_runtime::{ops, AsSharedFd, SharedFd};

use super::io::ConnIo;
use super::send::SendBuf;
use crate::body::FILE_CHUNK;
use crate::config::FileBodyMethod;

/// Bodies shorter than this are read into the output buffer and leave with the head in
/// one send; from 8 KiB up they are spliced: where splicing starts to cost less server CPU
/// per request than read + send (figures: bench/README.md#static-files).
pub(crate) const SPLICE_FROM: u64 = 8192;

/// Requested pipe capacity: 1 MiB (the default `fs.pipe-max-size`). If the kernel refuses
/// (per-user pipe page limits), the pipe keeps its default size and still works.
const PIPE_SIZE: i32 = 1 << 20;

/// Pipes kept per core; more are created on demand under concurrency and dropped after.
const POOL_MAX: usize = 32;

/// A pipe: read end, write end, capacity in bytes.
pub(super) struct Pipe {
    r: SharedFd,
    pub(super) w: SharedFd,
    pub(super) cap: u32,
}

thread_local! {
    static PIPES: RefCell<Vec<Pipe>> = const { RefCell::new(Vec::new()) };
}

impl Pipe {
    /// A pipe from the core's pool, or a new one.
    pub(super) fn take() -> io::Result<Pipe> {
        if let Some(p) = PIPES.with(|p| p.borrow_mut().pop()) {
            return Ok(p);
        }
        let (r, w) = ops::direct::pipe()?;
        use nix::fcntl::{fcntl, FcntlArg};
        let _ = fcntl(w.raw(), FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
        let cap = fcntl(w.raw(), FcntlArg::F_GETPIPE_SZ).unwrap_or(64 * 1024);
        Ok(Pipe {
            r,
            w,
            cap: cap.max(4096) as u32,
        })
    }

    /// Back to the pool (only called when the pipe is empty).
    pub(super) fn give_back(self) {
        PIPES.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_MAX {
                p.push(self);
            }
        });
    }
}

/// Writes `len` bytes of `file` from `offset` behind whatever is queued (the head).
/// A file shorter than announced fails with `UnexpectedEof` (the caller closes).
pub(crate) async fn write_file(io: &ConnIo, file: &File, offset: u64, len: u64) -> io::Result<()> {
    // Over TLS the bytes must pass through userspace to be encrypted (kTLS is not used).
    if !io.can_splice() {
        return read_and_send(io, file, offset, len, false).await;
    }
    match io.registry.config.file_body {
        FileBodyMethod::Auto if len < SPLICE_FROM => {
            return read_and_send(io, file, offset, len, false).await
        }
        FileBodyMethod::Read => return read_and_send(io, file, offset, len, false).await,
        FileBodyMethod::SendZc => return read_and_send(io, file, offset, len, true).await,
        FileBodyMethod::Auto | FileBodyMethod::Splice => {}
    }
    // The pipe first: once the head is out, a failure could only cut the response. Out
    // of fds (EMFILE) or pipe pages, the body is read and sent instead.
    let Ok(pipe) = Pipe::take() else {
        return read_and_send(io, file, offset, len, false).await;
    };
    send_queued_more(io).await?;
    let (mut offset, mut left) = (offset, len);
    while left > 0 {
        let want = left.min(u64::from(pipe.cap)) as u32;
        let n = fill(file, offset, &pipe, want).await?;
        if n == 0 {
            return Err(shrank());
        }
        offset += n as u64;
        left -= n as u64;
        drain(io, &pipe, n).await?;
    }
    pipe.give_back();
    Ok(())
}

/// Moves up to `want` bytes of the file into the (empty) pipe. Resident pages are
/// spliced by a direct system call; otherwise through the ring, whose io-wq thread
/// waits for the disk instead of the core.
async fn fill(file: &File, offset: u64, pipe: &Pipe, want: u32) -> io::Result<usize> {
    if ops::direct::is_cached(file.as_shared_fd(), offset, u64::from(want)) {
        match ops::direct::splice_now(file, Some(offset), &pipe.w, want, false) {
            // Pages evicted since the check would make the call wait, not fail: only a
            // full pipe says WouldBlock, and the pipe is empty here. Take the ring anyway.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            done => return done,
        }
    }
    ops::splice(file, Some(offset), &pipe.w, None, want).await
}

/// Splices all `queued` bytes from the pipe into the socket by direct system calls;
/// the socket is non-blocking (the runtime accepts it so), so a full socket buffer
/// gives `WouldBlock` and the wait for room goes through the ring, bounded by the write
/// timeout. The pipe is drained completely before it is refilled or given back.
pub(super) async fn drain(io: &ConnIo, pipe: &Pipe, mut queued: usize) -> io::Result<()> {
    while queued > 0 {
        match ops::direct::splice_now(&pipe.r, None, io.fd(), queued as u32, false) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => {
                io.sent(sent);
                queued -= sent.min(queued)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.timed(ops::writable(io.fd())).await??;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends the queued head with `MSG_MORE`, so it leaves in the same segments as the first
/// body bytes (nginx's `tcp_nopush`) rather than as a small segment of its own.
pub(super) async fn send_queued_more(io: &ConnIo) -> io::Result<()> {
    // Directly first (the splices that follow are direct too): no ring round trip.
    let queued = !io.out.borrow().is_empty();
    if queued {
        let sent = ops::direct::send_now(io.fd(), &io.out.borrow(), true);
        match sent {
            Ok(n) => {
                io.sent(n);
                io.out.borrow_mut().advance(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    // What did not fit waits for room in the socket through the ring.
    io.send_all(&io.out, ops::send_more).await
}

/// Reads the file into the output buffer behind the head, sending each chunk (with
/// `SEND_ZC` if `zero_copy`: the kernel sends from the buffer, and the send completes
/// only once the kernel let go of it).
async fn read_and_send(
    io: &ConnIo,
    file: &File,
    mut offset: u64,
    len: u64,
    zero_copy: bool,
) -> io::Result<()> {
    let mut left = len;
    while left > 0 {
        let mut buf = io.with_out(std::mem::take);
        let want = left.min(FILE_CHUNK as u64) as usize;
        buf.reserve(want);
        let before = buf.len();
        // read_at fills all spare capacity; keep only what this body still needs.
        let (res, mut buf) = file.read_at(buf, offset).await;
        let n = res?.min(want);
        buf.truncate(before + n);
        if n == 0 {
            return Err(shrank());
        }
        offset += n as u64;
        left -= n as u64;
        *io.out.borrow_mut() = buf;
        if zero_copy {
            io.send_all(&io.out, ops::send_zc).await?;
        } else {
            io.send_all(&io.out, ops::send).await?;
        }
    }
    Ok(())
}

fn shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being sent")
}
