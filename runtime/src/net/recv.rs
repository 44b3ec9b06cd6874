//! `MultiRecv`: a multishot receive from the core's provided-buffer ring, re-armed as
//! needed, shared by streams on real fds (`Conn`) and on direct descriptors
//! (`FixedStream`).

use std::io;
use std::task::{Context, Poll};

use io_uring::{cqueue, opcode, squeue};

use crate::buf_ring::RecvBuf;
use crate::context::with_driver;
use crate::driver::slot::{Completion, OpKind};
use crate::driver::sqe_patch;
use crate::op::MultiOp;

/// One stream's multishot receive and its place in the buffer ring's queue of waiters.
pub(super) struct MultiRecv<T: 'static> {
    op: MultiOp<T>,
    /// Registered with the buffer ring to be woken when a buffer is back.
    waiting_for_buffer: bool,
    /// A cancel was asked for by [`poll_stop`](Self::poll_stop) and has not ended it yet.
    stopping: bool,
}

/// A received chunk: a buffer, or EOF.
pub(super) enum Chunk {
    Data(RecvBuf),
    Eof,
}

impl<T: 'static> MultiRecv<T> {
    pub(super) fn idle() -> Self {
        MultiRecv {
            op: MultiOp::idle(OpKind::SelectsBuffer),
            waiting_for_buffer: false,
            stopping: false,
        }
    }

    /// Ends the receive, so the socket can be read another way (a splice) with no
    /// receive racing it for the bytes: `Ready(Ok(Some(chunk)))` for each chunk received
    /// before the cancel took effect (call again), `Ready(Ok(None))` once the receive has
    /// ended. The next [`poll`](Self::poll) arms a new one.
    pub(super) fn poll_stop(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Chunk>>> {
        loop {
            if !self.op.is_armed() {
                self.stopping = false;
                return Poll::Ready(Ok(None));
            }
            if !std::mem::replace(&mut self.stopping, true) {
                self.op.cancel();
            }
            let Some(q) = std::task::ready!(self.op.poll_next(cx)) else {
                continue; // ended: reported at the top
            };
            let c = q.completion;
            if c.result < 0 {
                if c.result == -libc::ENOBUFS || c.result == -libc::ECANCELED {
                    continue;
                }
                return Poll::Ready(Err(io::Error::from_raw_os_error(-c.result)));
            }
            if let Some(bytes) = q.moved {
                return Poll::Ready(Ok(Some(Chunk::Data(RecvBuf::moved(bytes, c.reaped_us)))));
            }
            if let Some(bid) = cqueue::buffer_select(c.flags) {
                let ring = with_driver(|d| d.buf_ring.clone());
                let buf = RecvBuf::new(ring, bid, c.buf_offset, c.result as usize, c.reaped_us);
                return Poll::Ready(Ok(Some(Chunk::Data(buf))));
            }
            // EOF: the socket reports it again to whoever reads it next.
        }
    }

    /// The next chunk, arming the receive first if needed with the SQE and keep-alive
    /// data `arm` builds from the buffer group.
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        mut arm: impl FnMut(u16) -> (squeue::Entry, T),
    ) -> Poll<io::Result<Chunk>> {
        loop {
            if !self.op.is_armed() {
                let ring = with_driver(|d| d.buf_ring.clone());
                if !ring.has_free() {
                    ring.wait_for_buffer(cx.waker());
                    self.waiting_for_buffer = true;
                    return Poll::Pending;
                }
                if std::mem::take(&mut self.waiting_for_buffer) {
                    ring.pass_on();
                }
                let (mut sqe, keep) = arm(ring.group());
                // Bundles exist for plain receives only (not recvmsg, used for timestamps).
                if ring.mode().bundles && sqe_patch::opcode(&mut sqe) == opcode::Recv::CODE {
                    sqe_patch::or_ioprio(&mut sqe, sqe_patch::RECVSEND_BUNDLE);
                }
                self.op.arm(sqe, keep);
            }
            let (c, moved): (Completion, _) = match self.op.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => continue, // ended (EOF seen, ENOBUFS...): re-arm
                Poll::Ready(Some(q)) => (q.completion, q.moved),
            };
            if c.result < 0 {
                if c.result == -libc::ENOBUFS || c.result == -libc::ECANCELED {
                    // The ring ran dry, or the driver cancelled this receive because its
                    // chunks went unread (RECV_QUEUE_LIMIT, driver/evict.rs): re-arm now
                    // that the owner reads again.
                    continue;
                }
                return Poll::Ready(Err(io::Error::from_raw_os_error(-c.result)));
            }
            return Poll::Ready(Ok(if let Some(bytes) = moved {
                Chunk::Data(RecvBuf::moved(bytes, c.reaped_us))
            } else if let Some(bid) = cqueue::buffer_select(c.flags) {
                let ring = with_driver(|d| d.buf_ring.clone());
                Chunk::Data(RecvBuf::new(
                    ring,
                    bid,
                    c.buf_offset,
                    c.result as usize,
                    c.reaped_us,
                ))
            } else {
                Chunk::Eof
            }));
        }
    }
}

impl<T: 'static> Drop for MultiRecv<T> {
    fn drop(&mut self) {
        // A receiver gone while waiting for a buffer passes its turn on (see `pass_on`).
        if self.waiting_for_buffer {
            let _ = crate::context::try_with_core(|c| {
                if let Ok(d) = c.driver.try_borrow() {
                    d.buf_ring.pass_on();
                }
            });
        }
    }
}
