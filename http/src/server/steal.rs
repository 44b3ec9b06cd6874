//! Taking over a lagging core's queue in `steered` mode: each core, for each steered
//! listener, runs one loop that waits until another core lags (as the steering program
//! judges it, [`SteerLoads::lagging`]), then accepts from that core's listener as it
//! becomes readable and serves those connections as its own, until the core has been
//! back for [`HOLD`] or its listener leaves (see `coreline_runtime::net::PeerListener` for the rule).
//! The loop waits without a poll or a timer while no core lags: the core's registry
//! wakes it when it sees a lagging peer while publishing, or on its sweep tick.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use coreline_runtime::net::{PeerListener, PublishMark, SteerGroup, SteerLoads};
use coreline_runtime::time;
use coreline_tls::TlsAcceptor;

use super::accept::{start_connection, Stop};
use crate::conn::ConnRegistry;
use crate::Handler;

/// While taking over, how often to check whether the peer is back when nothing arrives.
const RECHECK: Duration = Duration::from_millis(10);
/// Connections taken per readiness, so one busy peer cannot hold this core in a loop.
const BATCH: usize = 64;
/// How long a peer must stay back before this core stops taking over its queue. A
/// starved core looks back right after each short slice it gets (its lag decays while
/// it waits for the next one); stopping at once would let the program send it
/// connections again, each waiting for its next slice before a watch resumes.
const HOLD: Duration = Duration::from_millis(500);

/// This core's side of one steered listener: what it needs to serve a peer's queue (or
/// the connections a lagging peer hands it).
pub(crate) struct Steal<H> {
    pub(crate) group: Arc<SteerGroup>,
    /// This core's index.
    pub(crate) me: usize,
    pub(crate) tls: Option<Rc<TlsAcceptor>>,
    pub(crate) core: Rc<ConnRegistry>,
    pub(crate) handler: Rc<H>,
}

impl<H> Clone for Steal<H> {
    fn clone(&self) -> Self {
        Steal {
            group: self.group.clone(),
            me: self.me,
            tls: self.tls.clone(),
            core: self.core.clone(),
            handler: self.handler.clone(),
        }
    }
}

/// Takes over lagging peers' queues until `stop`.
pub(crate) async fn steal_loop<H: Handler>(steal: Steal<H>, stop: Rc<Stop>) {
    let loads = steal.group.loads().clone();
    loop {
        let victim = poll_fn(|cx| {
            if stop.is_stopped() {
                return Poll::Ready(None);
            }
            let lagging = loads.lagging_peer(steal.me);
            if let Some(peer) = lagging.filter(|&p| steal.group.has(p)) {
                return Poll::Ready(Some(peer));
            }
            steal.core.wake_on_lagging_peer(cx.waker());
            stop.set_waker(cx.waker());
            Poll::Pending
        })
        .await;
        let Some(victim) = victim else { break };
        let Some(peer) = steal.group.peer(victim) else {
            continue; // (it left between the two looks; `has` is false now)
        };
        let mark = loads.publish_mark(victim);
        if !take_over(&steal, &loads, victim, &peer, mark, &stop).await {
            break;
        }
        // `peer` is dropped here: its duplicate must not keep the socket open.
    }
}

enum Event {
    Stop,
    Readable(bool),
    Tick,
}

/// Serves `victim`'s queue until it has been back for [`HOLD`] or leaves (true), or until
/// `stop` (false).
async fn take_over<H: Handler>(
    steal: &Steal<H>,
    loads: &SteerLoads,
    victim: usize,
    peer: &PeerListener,
    mark: PublishMark,
    stop: &Stop,
) -> bool {
    let mut back_since: Option<Instant> = None;
    loop {
        let event = {
            let mut readable = pin!(peer.readable());
            let mut tick = pin!(time::sleep(RECHECK));
            poll_fn(|cx| {
                if stop.is_stopped() {
                    return Poll::Ready(Event::Stop);
                }
                if let Poll::Ready(r) = readable.as_mut().poll(cx) {
                    return Poll::Ready(Event::Readable(r.is_ok()));
                }
                if tick.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Tick);
                }
                stop.set_waker(cx.waker());
                Poll::Pending
            })
            .await
        };
        match event {
            Event::Stop => return false,
            Event::Readable(true) => {
                for _ in 0..BATCH {
                    let Ok(Some(stream)) = peer.try_accept() else {
                        break; // empty (the owner or another core took it), or failed
                    };
                    loads.took_over(victim);
                    if let Some(m) = steal.core.metrics.as_deref() {
                        m.took_over();
                    }
                    start_connection(stream, &steal.tls, &steal.core, &steal.handler);
                }
            }
            // The poll failed: wait a tick before polling again.
            Event::Readable(false) => time::sleep(RECHECK).await,
            Event::Tick => {}
        }
        if !steal.group.has(victim) {
            return true;
        }
        if !loads.is_back(victim, mark) {
            back_since = None;
        } else if back_since.get_or_insert_with(Instant::now).elapsed() >= HOLD {
            return true;
        }
    }
}
