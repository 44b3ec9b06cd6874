//! The batch's last send, started before the connection waits for its next request and
//! settled when that wait ends.
//!
//! Awaiting the send would cost every keep-alive request a second wake-up of the
//! connection's task (the send's completion, then the next request's data). A response
//! nearly always fits in the socket's buffer, so the send is submitted without a waker
//! and the task waits for data at once; when the wait ends the send is long done and
//! settling it is one poll. The write timeout still bounds it: the wait's deadline is the
//! earlier of its own and the send's, and a wait that ended at the send's deadline with
//! the send done simply goes on.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use coreline_runtime::ops::{self, SendOp};

use super::io::{ConnIo, Recv};
use super::send::SendBuf;
use crate::{clock, pool};

/// Boxes kept per core for reuse, so that starting a send allocates nothing once warm.
const POOLED: usize = 1024;

thread_local! {
    // The boxes themselves are what is reused (a connection holds one while it sends).
    #[allow(clippy::vec_box)]
    static BOXES: RefCell<Vec<Box<InFlight>>> = const { RefCell::new(Vec::new()) };
}

/// A started send (`None` only while pooled) and its deadline (write timeout or
/// minimum send rate).
pub(crate) struct InFlight {
    op: Option<SendOp<Vec<u8>>>,
    deadline: u64,
}

impl ConnIo {
    /// Starts sending the output buffer without waiting for it: `true` if it started (or
    /// there was nothing to send). `false` where the caller must await
    /// [`flush`](Self::flush) instead: over TLS, with the metrics on (they time the
    /// send's end), or with a send already in flight.
    pub(super) fn start_flush(&self) -> bool {
        if self.is_tls() || self.metrics().is_some() || self.has_started_send() {
            return false;
        }
        if self.out.borrow().is_empty() {
            return true;
        }
        self.begin_send_wait(0);
        let buf = std::mem::take(&mut *self.out.borrow_mut());
        let mut op = ops::send_op(&self.fd, buf);
        op.start();
        let mut in_flight = take_box();
        in_flight.op = Some(op);
        in_flight.deadline = self.deadline();
        self.early_send.set(Some(in_flight));
        true
    }

    /// Waits for received data as [`recv`](Self::recv) does, and settles a started send
    /// (see the module docs) before reporting: a failed or timed-out send is `Failed`.
    pub(super) async fn recv_settling(&self, stop_on_drain: bool) -> Recv {
        let Some(send_deadline) = self.started_send_deadline() else {
            return self.recv(stop_on_drain).await;
        };
        let own = self.deadline();
        self.set_deadline_at(own.min(send_deadline));
        loop {
            let got = self.recv(stop_on_drain).await;
            if let Err(e) = self.settle_send().await {
                return Recv::Failed(e);
            }
            if matches!(got, Recv::TimedOut) && clock::now_ms() < own {
                // The send's deadline passed, but the send is done: wait on.
                self.set_deadline_at(own);
                continue;
            }
            return got;
        }
    }

    fn has_started_send(&self) -> bool {
        self.started_send_deadline().is_some()
    }

    fn started_send_deadline(&self) -> Option<u64> {
        let in_flight = self.early_send.take();
        let deadline = in_flight.as_ref().map(|f| f.deadline);
        self.early_send.set(in_flight);
        deadline
    }

    /// Waits for the started send, if any (bounded by the current deadline), sends what
    /// it left (the socket was full), and gives its buffer back.
    async fn settle_send(&self) -> io::Result<()> {
        let Some(mut in_flight) = self.early_send.take() else {
            return Ok(());
        };
        let op = in_flight.op.take();
        put_box(in_flight);
        let Some(mut op) = op else {
            return Ok(());
        };
        let (res, mut back) = poll_fn(|cx| self.poll_timed(Pin::new(&mut op), cx)).await?;
        let n = res?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.sent(n);
        back.advance(n);
        if !back.is_empty() {
            // Rare: sent before anything queued since, on the awaited path.
            let rest = RefCell::new(back);
            Box::pin(self.send_all(&rest, ops::send)).await?;
            back = rest.into_inner();
        }
        pool::put_outbuf(back);
        Ok(())
    }
}

fn take_box() -> Box<InFlight> {
    BOXES
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| {
            Box::new(InFlight {
                op: None,
                deadline: 0,
            })
        })
}

fn put_box(b: Box<InFlight>) {
    BOXES.with(|boxes| {
        let mut boxes = boxes.borrow_mut();
        if boxes.len() < POOLED {
            boxes.push(b);
        }
    });
}
