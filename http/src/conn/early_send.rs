//! The batch's last send, started before the connection waits for its next request, and
//! settled without waking the connection.
//!
//! Awaiting the send would cost every keep-alive request a second wake-up of its
//! connection's task (the send's completion, then the next request's data). A response
//! nearly always fits in the socket's buffer, so the send is submitted without a waker and
//! the task waits for data at once. One task per core, the settler, polls the sends
//! started in the previous turn of the loop (long done by then, all of them in one wake-up)
//! and gives their buffers back to the pool, so an idle connection holds none. A send that
//! went wrong or only partly (the socket was full) is left, finished, to its connection,
//! which is woken and settles it when its wait ends ([`ConnIo::recv_settling`]). The write
//! timeout still bounds a send: while one is in flight the wait's deadline is the earlier
//! of its own and the send's; settling the send restores the wait's own.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use coreline_runtime::ops::{self, SendOp};

use super::io::{ConnIo, Recv};
use super::send::SendBuf;
use crate::{clock, pool};

/// Boxes kept per core for reuse, so that starting a send allocates nothing once warm.
const POOLED: usize = 1024;

/// A started send and its deadline (write timeout or minimum send rate); or, once the
/// settler found it failed or partial, its outcome for the connection to handle.
pub(crate) struct InFlight {
    op: Option<SendOp<Vec<u8>>>,
    outcome: Option<(io::Result<usize>, Vec<u8>)>,
    deadline: u64,
    /// The deadline of the connection's wait, narrowed to `deadline` meanwhile.
    wait_deadline: Option<u64>,
}

/// The per-core settler's state.
#[derive(Default)]
struct Settler {
    /// Connections with a send started since the settler last ran.
    started: Vec<Rc<ConnIo>>,
    waker: Option<Waker>,
    running: bool,
    /// Pooled `InFlight` boxes (the boxes themselves are what is reused).
    #[allow(clippy::vec_box)]
    boxes: Vec<Box<InFlight>>,
}

thread_local! {
    static SETTLER: RefCell<Settler> = RefCell::new(Settler::default());
}

impl ConnIo {
    /// Starts sending the output buffer without waiting for it: `true` if it started (or
    /// there was nothing to send). `false` where the caller must await
    /// [`flush`](Self::flush) instead: over TLS, with the metrics on (they time the
    /// send's end), or with a send already in flight.
    pub(super) fn start_flush(self: &Rc<Self>) -> bool {
        if self.is_tls() || self.metrics().is_some() || self.started_send_deadline().is_some() {
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
        in_flight.wait_deadline = None;
        self.early_send.set(Some(in_flight));
        hand_to_settler(self.clone());
        true
    }

    /// Waits for received data as [`recv`](Self::recv) does, and settles a started send
    /// first if the settler has not (see the module docs): a failed or timed-out send is
    /// `Failed`.
    pub(super) async fn recv_settling(&self, stop_on_drain: bool) -> Recv {
        self.narrow_deadline_to_send();
        let got = self.recv(stop_on_drain).await;
        if self.started_send_deadline().is_none() {
            return got;
        }
        // Rare (the settler has not run, or left a failed or partial send): boxed, so that
        // every connection's task keeps no room for it.
        Box::pin(self.settle_after(got, stop_on_drain)).await
    }

    /// While a send is in flight, the wait's deadline is the earlier of its own (kept
    /// with the send, restored once the send is settled) and the send's.
    fn narrow_deadline_to_send(&self) {
        let Some(mut in_flight) = self.early_send.take() else {
            return;
        };
        let own = self.deadline();
        in_flight.wait_deadline = Some(own);
        self.set_deadline_at(own.min(in_flight.deadline));
        self.early_send.set(Some(in_flight));
    }

    /// [`recv_settling`](Self::recv_settling)'s rare part: settles the send, then reports
    /// `got`, or waits on to the wait's own deadline if only the send's had passed.
    async fn settle_after(&self, got: Recv, stop_on_drain: bool) -> Recv {
        let own = self.take_wait_deadline();
        if let Err(e) = self.settle_send().await {
            return Recv::Failed(e);
        }
        match own {
            Some(own) if matches!(got, Recv::TimedOut) && clock::now_ms() < own => {
                self.set_deadline_at(own);
                self.recv(stop_on_drain).await
            }
            _ => got,
        }
    }

    fn take_wait_deadline(&self) -> Option<u64> {
        let mut in_flight = self.early_send.take()?;
        let own = in_flight.wait_deadline.take();
        self.early_send.set(Some(in_flight));
        own
    }

    fn started_send_deadline(&self) -> Option<u64> {
        let in_flight = self.early_send.take();
        let deadline = in_flight.as_ref().map(|f| f.deadline);
        self.early_send.set(in_flight);
        deadline
    }

    /// The settler's part: if the started send completed in full, gives its buffer back
    /// and returns `Ready`; any other completion is kept for the connection, which is
    /// woken. `Pending` while the send is in flight (`cx` is woken when it ends).
    fn poll_settle_started(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(mut in_flight) = self.early_send.take() else {
            return Poll::Ready(());
        };
        let Some(op) = in_flight.op.as_mut() else {
            self.early_send.set(Some(in_flight));
            return Poll::Ready(());
        };
        let Poll::Ready((res, buf)) = Pin::new(op).poll(cx) else {
            self.early_send.set(Some(in_flight));
            return Poll::Pending;
        };
        in_flight.op = None;
        if matches!(res, Ok(n) if n == buf.len()) {
            self.sent(buf.len());
            pool::put_outbuf(buf);
            if let Some(own) = in_flight.wait_deadline.take() {
                self.set_deadline_at(own); // (the connection waits: with its own deadline)
            }
            put_box(in_flight);
        } else {
            in_flight.outcome = Some((res, buf));
            self.early_send.set(Some(in_flight));
            self.wake();
        }
        Poll::Ready(())
    }

    /// Waits for the started send, if any (bounded by the current deadline), sends what
    /// it left (the socket was full), and gives its buffer back.
    async fn settle_send(&self) -> io::Result<()> {
        let Some(mut in_flight) = self.early_send.take() else {
            return Ok(());
        };
        let (op, outcome) = (in_flight.op.take(), in_flight.outcome.take());
        put_box(in_flight);
        let (res, mut back) = match (op, outcome) {
            (_, Some(outcome)) => outcome,
            (Some(mut op), None) => poll_fn(|cx| self.poll_timed(Pin::new(&mut op), cx)).await?,
            (None, None) => return Ok(()),
        };
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

/// Queues `io` for the settler, starting the core's settler task the first time.
fn hand_to_settler(io: Rc<ConnIo>) {
    let (waker, spawn) = SETTLER.with(|s| {
        let mut s = s.borrow_mut();
        s.started.push(io);
        let spawn = !std::mem::replace(&mut s.running, true);
        (s.waker.take(), spawn)
    });
    if let Some(w) = waker {
        w.wake();
    }
    if spawn {
        drop(coreline_runtime::spawn_local(settle_forever()));
    }
}

/// The settler task: each time it runs, settles the sends started before (see the module
/// docs). Ends only with the core, when its guard clears the per-core state.
async fn settle_forever() {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            let started = SETTLER.try_with(|s| {
                let mut s = s.borrow_mut();
                s.running = false;
                s.waker = None;
                std::mem::take(&mut s.started)
            });
            drop(started); // (outside the borrow: a connection dropped here drops its send)
        }
    }
    let _running = Running;
    let mut batch: Vec<Rc<ConnIo>> = Vec::new();
    poll_fn(|cx| {
        SETTLER.with(|s| std::mem::swap(&mut s.borrow_mut().started, &mut batch));
        // Still in flight (started after this task's turn began): settle them next time.
        batch.retain(|io| io.poll_settle_started(cx).is_pending());
        SETTLER.with(|s| {
            let mut s = s.borrow_mut();
            s.started.append(&mut batch);
            s.waker = Some(cx.waker().clone());
        });
        Poll::<()>::Pending
    })
    .await
}

fn take_box() -> Box<InFlight> {
    SETTLER
        .with(|s| s.borrow_mut().boxes.pop())
        .unwrap_or_else(|| {
            Box::new(InFlight {
                op: None,
                outcome: None,
                deadline: 0,
                wait_deadline: None,
            })
        })
}

fn put_box(b: Box<InFlight>) {
    SETTLER.with(|s| {
        let mut s = s.borrow_mut();
        if s.boxes.len() < POOLED {
            s.boxes.push(b);
        }
    });
}
