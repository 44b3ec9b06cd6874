//! `ConnIo`: the state of one connection shared by its task and its request bodies.
//!
//! It is reference-counted because a request [`Body`](crate::Body) handed to the handler
//! must be able to read from the connection. Nothing here is ever borrowed across an
//! `.await`: the stream is only borrowed inside `poll_recv`, sends go through a cloned
//! `SharedFd` (or, over TLS, the stream moved out for the send: see `transport.rs`), and
//! the output buffer is moved out while the kernel owns it. So a handler that stashes a
//! body and reads it from another task gets an error, never a panic.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use coreline_runtime::{ops, SharedFd};

use super::body::BodyState;
use super::transport::Transport;
use crate::clock;
use crate::pool;
use crate::server::core::CoreShared;

/// No deadline.
const NEVER: u64 = u64::MAX;

/// What waiting for received data gave.
pub(crate) enum Recv {
    /// More bytes were appended to `inbuf`.
    Data,
    /// The peer closed cleanly (TCP FIN; over TLS, `close_notify`).
    Eof,
    TimedOut,
    /// Graceful shutdown began (only reported to waits that ask for it).
    Draining,
    Failed(io::Error),
}

/// One connection's I/O state.
pub(crate) struct ConnIo {
    pub(crate) core: Rc<CoreShared>,
    pub(super) transport: RefCell<Transport>,
    /// The socket (plain sends and splices go straight to it).
    fd: SharedFd,
    /// Whether the transport is TLS (fixed for the connection's life).
    tls: bool,
    /// Received bytes not yet consumed. Capacity 0 (no buffer) while idle.
    pub(crate) inbuf: RefCell<BytesMut>,
    /// Encoded responses not yet sent. Capacity 0 while idle.
    pub(crate) out: RefCell<Vec<u8>>,
    /// When the current wait expires (`clock::now_ms` units), or `NEVER`.
    deadline: Cell<u64>,
    timed_out: Cell<bool>,
    /// The task to wake on expiry or shutdown: whoever waited last.
    waker: Cell<Option<Waker>>,
    /// Number of the request being served (wrapping): bodies of older ones are stale.
    pub(crate) body_seq: Cell<u32>,
    /// The request body in progress, if any.
    pub(crate) body: RefCell<Option<Box<BodyState>>>,
    /// Key in the core's connection registry.
    pub(crate) key: Cell<u32>,
    /// Timestamps for the latency metrics (untouched when they are off).
    pub(crate) stamps: crate::metrics::ConnStamps,
}

impl ConnIo {
    pub(crate) fn new(transport: Transport, core: Rc<CoreShared>) -> Rc<Self> {
        let fd = transport.shared_fd();
        Rc::new(ConnIo {
            core,
            fd,
            tls: transport.is_tls(),
            transport: RefCell::new(transport),
            inbuf: RefCell::new(BytesMut::new()),
            out: RefCell::new(Vec::new()),
            deadline: Cell::new(NEVER),
            timed_out: Cell::new(false),
            waker: Cell::new(None),
            body_seq: Cell::new(0),
            body: RefCell::new(None),
            key: Cell::new(u32::MAX),
            stamps: Default::default(),
        })
    }

    /// Sets the deadline of the next wait(s) to `d` from now.
    pub(crate) fn set_deadline(&self, d: Duration) {
        self.deadline.set(clock::deadline_after(d));
        self.timed_out.set(false);
    }

    /// Sets the deadline of the next wait(s) to an absolute `clock::now_ms` value.
    pub(crate) fn set_deadline_at(&self, at: u64) {
        self.deadline.set(at);
        self.timed_out.set(clock::now_ms() >= at);
    }

    /// No deadline (while the handler runs: it may take as long as it likes).
    pub(crate) fn clear_deadline(&self) {
        self.deadline.set(NEVER);
        self.timed_out.set(false);
    }

    /// Called by the sweeper: flags and wakes the connection if its deadline passed.
    pub(crate) fn expire_if_due(&self, now: u64) {
        if now >= self.deadline.get() && !self.timed_out.get() {
            self.timed_out.set(true);
            self.wake();
        }
    }

    /// Wakes whoever waits on this connection.
    pub(crate) fn wake(&self) {
        let waker = self.waker.take();
        if let Some(w) = &waker {
            w.wake_by_ref();
        }
        self.waker.set(waker);
    }

    fn set_waker(&self, waker: &Waker) {
        match self.waker.take() {
            Some(w) if w.will_wake(waker) => self.waker.set(Some(w)),
            _ => self.waker.set(Some(waker.clone())),
        }
    }

    /// Polls for received data, appending it to `inbuf` (and stamping its arrival for the
    /// metrics); `stop_on_drain` makes graceful shutdown end the wait.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>, stop_on_drain: bool) -> Poll<Recv> {
        let polled = match self.transport.try_borrow_mut().as_deref_mut() {
            Ok(Transport::Plain(stream)) => match stream.poll_recv(cx) {
                Poll::Ready(Ok(Some(buf))) => {
                    crate::metrics::received(self, buf.reaped_at_us(), || self.inbuf_is_empty());
                    self.append(&buf);
                    Poll::Ready(Ok(true))
                }
                Poll::Ready(Ok(None)) => Poll::Ready(Ok(false)),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            Ok(Transport::Tls(tls)) => self.poll_tls_recv(tls, cx),
            Ok(Transport::Lent) | Err(_) => {
                Poll::Ready(Err(io::Error::other("connection is being read elsewhere")))
            }
        };
        match polled {
            Poll::Ready(Ok(true)) => Poll::Ready(Recv::Data),
            Poll::Ready(Ok(false)) => Poll::Ready(Recv::Eof),
            Poll::Ready(Err(e)) => Poll::Ready(Recv::Failed(e)),
            Poll::Pending => {
                if self.timed_out.get() {
                    Poll::Ready(Recv::TimedOut)
                } else if stop_on_drain && self.core.is_draining() {
                    Poll::Ready(Recv::Draining)
                } else {
                    self.set_waker(cx.waker());
                    Poll::Pending
                }
            }
        }
    }

    /// Waits for received data (bounded by the current deadline).
    pub(crate) async fn recv(&self, stop_on_drain: bool) -> Recv {
        poll_fn(|cx| self.poll_recv(cx, stop_on_drain)).await
    }

    /// Appends received bytes to the input buffer, taking one from the pool if idle.
    fn append(&self, data: &[u8]) {
        let mut inbuf = self.inbuf.borrow_mut();
        if inbuf.capacity() == 0 {
            *inbuf = pool::take_inbuf();
        }
        // Reclaims the buffer's storage in place once the requests sliced from it are gone.
        inbuf.reserve(data.len());
        inbuf.extend_from_slice(data);
    }

    /// Whether no received bytes wait to be processed.
    pub(crate) fn inbuf_is_empty(&self) -> bool {
        self.inbuf.borrow().is_empty()
    }

    /// Gives empty buffers back to the core's pools (an idle connection holds none).
    pub(crate) fn release_buffers(&self) {
        let mut inbuf = self.inbuf.borrow_mut();
        if inbuf.is_empty() && inbuf.capacity() > 0 {
            pool::put_inbuf(std::mem::take(&mut *inbuf));
        }
        let mut out = self.out.borrow_mut();
        if out.is_empty() && out.capacity() > 0 {
            pool::put_outbuf(std::mem::take(&mut *out));
        }
    }

    /// Runs `f` on the output buffer (taking one from the pool if needed).
    pub(crate) fn with_out<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut out = self.out.borrow_mut();
        if out.capacity() == 0 {
            *out = pool::take_outbuf();
        }
        f(&mut out)
    }

    /// Sends everything in the output buffer (one `send` unless the socket is full).
    ///
    /// Written out rather than calling [`send_vec`](Self::send_vec): this future lives in
    /// every connection's task, so it is kept as small as the send op allows.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        loop {
            let buf = std::mem::take(&mut *self.out.borrow_mut());
            if buf.is_empty() {
                *self.out.borrow_mut() = buf;
                crate::metrics::flushed(self);
                return Ok(());
            }
            if self.tls {
                // Boxed: keeps the TLS send out of every connection task's size.
                Box::pin(self.flush_tls(buf)).await?;
                continue; // (everything went: the next round records the batch)
            }
            self.set_deadline(self.core.config.timeouts.write);
            let (res, mut back) = {
                let mut send = pin!(ops::send(&self.fd, buf));
                poll_fn(|cx| self.poll_timed(send.as_mut(), cx)).await?
            };
            match res? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n if n >= back.len() => back.clear(),
                n => drop(back.drain(..n)), // partial send (socket buffer full): rare
            }
            *self.out.borrow_mut() = back;
        }
    }

    /// Sends all of `buf` and gives it back. On failure the buffer may be gone (a timed
    /// out send's buffer stays with the cancelled operation).
    pub(crate) async fn send_vec(&self, buf: Vec<u8>) -> io::Result<Vec<u8>> {
        if self.tls {
            Box::pin(self.tls_send(&buf)).await?;
            return Ok(buf);
        }
        self.send_all_with(buf, ops::send).await
    }

    /// Sends all of `buf` on the plain socket with `op` (`ops::send`, or `ops::send_zc`),
    /// each call bounded by the write timeout, and gives the buffer back.
    pub(crate) async fn send_all_with<'a, F, Fut>(
        &'a self,
        mut buf: Vec<u8>,
        op: F,
    ) -> io::Result<Vec<u8>>
    where
        F: Fn(&'a SharedFd, Vec<u8>) -> Fut,
        Fut: Future<Output = (io::Result<usize>, Vec<u8>)>,
    {
        while !buf.is_empty() {
            self.set_deadline(self.core.config.timeouts.write);
            let mut send = pin!(op(&self.fd, buf));
            let (res, back) = poll_fn(|cx| self.poll_timed(send.as_mut(), cx)).await?;
            buf = back;
            match res? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n if n >= buf.len() => break,
                // Partial send (socket buffer full): rare, so moving the tail is fine.
                n => drop(buf.drain(..n)),
            }
        }
        Ok(buf)
    }

    /// Whether file bodies can be spliced to the socket (not through TLS: no kTLS here).
    pub(crate) fn can_splice(&self) -> bool {
        !self.tls
    }

    /// The socket, for send-side operations built elsewhere and run through
    /// [`timed`](Self::timed) (the file-body paths in `splice`).
    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    /// Runs a send-side operation bounded by the write timeout.
    pub(crate) async fn timed<F: Future>(&self, op: F) -> io::Result<F::Output> {
        self.set_deadline(self.core.config.timeouts.write);
        let mut op = pin!(op);
        poll_fn(|cx| self.poll_timed(op.as_mut(), cx)).await
    }

    /// Polls an operation, failing it once the connection's deadline passed.
    pub(super) fn poll_timed<F: Future>(
        &self,
        op: std::pin::Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<F::Output>> {
        if let Poll::Ready(out) = op.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if self.timed_out.get() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "send timed out",
            )));
        }
        self.set_waker(cx.waker());
        Poll::Pending
    }

    /// Sends all of a static buffer.
    pub(crate) async fn send_static(&self, mut buf: &'static [u8]) -> io::Result<()> {
        if self.tls {
            return Box::pin(self.tls_send(buf)).await;
        }
        while !buf.is_empty() {
            self.set_deadline(self.core.config.timeouts.write);
            let mut send = pin!(ops::send(&self.fd, buf));
            let (res, back) = poll_fn(|cx| self.poll_timed(send.as_mut(), cx)).await?;
            match res? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &back[n.min(back.len())..],
            }
        }
        Ok(())
    }

    /// Half-closes the sending side (FIN after everything already queued; over TLS,
    /// `close_notify` first).
    pub(crate) async fn shutdown_write(&self) -> io::Result<()> {
        if self.tls {
            return Box::pin(self.tls_shutdown()).await;
        }
        ops::shutdown(&self.fd, std::net::Shutdown::Write).await
    }

    /// Whether the connection runs over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls
    }
}
