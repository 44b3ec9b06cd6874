//! Upstream response bodies (a client [`SocketBody`]) spliced upstream socket → per-core
//! pipe → client socket, the way file bodies are (`splice.rs`, whose pipes and drain
//! this shares): the body bytes the upstream connection had already received go out
//! behind the head, then the rest moves in the kernel, up to a pipe's capacity at a time.
//!
//! Both splices are direct, non-blocking system calls (both sockets are `O_NONBLOCK`):
//! an upstream with nothing to read gives `WouldBlock`, and the wait for its bytes is a
//! ring poll bounded by the upstream read timeout; a full client socket waits as in
//! `drain`, bounded by the write timeout. The upstream connection goes back to its pool
//! only once the whole body went through; a failure closes both connections (the
//! client's response is cut short, as after any error once the head is out).
//!
//! Over TLS the bytes must pass through user space to be encrypted, and out of pipes
//! (EMFILE) they are copied: either way the body is streamed like any other.

use std::io;
use std::time::Duration;

use coreline_runtime::{ops, time, SharedFd};

use super::io::ConnIo;
use super::splice::{drain, send_queued_more, Pipe};
use crate::body::{Body, Kind};
use crate::client::SocketBody;
use crate::encode::ResponseFraming;

/// Writes `body` behind whatever is queued (the head).
pub(super) async fn write_socket_body(
    io: &ConnIo,
    mut body: Box<SocketBody>,
    framing: ResponseFraming,
) -> io::Result<()> {
    let pipe = if io.can_splice() {
        Pipe::take().ok()
    } else {
        None
    };
    let Some(pipe) = pipe else {
        let body = Body {
            kind: Kind::Socket(body),
        };
        return super::response::write_stream(io, body, framing).await;
    };
    let (received, upstream) = body
        .take_received(|data| io.with_out(|out| out.extend_from_slice(data)))
        .await?;
    io.access_body_sent(received);
    if body.len() == 0 {
        // All of it had arrived: no splice follows to push out a send held with MSG_MORE.
        pipe.give_back();
        return io.flush().await;
    }
    send_queued_more(io).await?;
    let timeout = body.read_timeout();
    while body.len() > 0 {
        let want = body.len().min(u64::from(pipe.cap)) as u32;
        let n = fill(&upstream, &pipe, want, timeout).await?;
        drain(io, &pipe, n).await?;
        body.spliced(n as u64);
        io.access_body_sent(n as u64);
        if let Some(m) = io.registry.metrics.as_deref() {
            m.proxy_spliced(n as u64);
        }
    }
    pipe.give_back();
    Ok(())
}

/// Moves up to `want` bytes (at least one) from the upstream socket into the empty pipe,
/// waiting for them at most `timeout` at a time.
async fn fill(upstream: &SharedFd, pipe: &Pipe, want: u32, timeout: Duration) -> io::Result<usize> {
    loop {
        match ops::direct::splice_now(upstream, None, &pipe.w, want, false) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upstream closed the connection mid-body",
                ))
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match time::timeout(timeout, ops::readable(upstream)).await {
                    Ok(ready) => ready?,
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "no body bytes from the upstream within the read timeout",
                        ))
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
