//! Send bundles: a connection's outgoing bytes queued in the buffers of a provided-buffer
//! ring of its own, sent by one `IORING_OP_SEND` with `IOSQE_BUFFER_SELECT` and
//! `IORING_RECVSEND_BUNDLE` that takes every queued buffer at once, in ring order
//! (Linux 6.10, `IORING_FEAT_RECVSEND_BUNDLE`).
//!
//! The ring is per connection because a bundle takes whatever buffers sit at the ring's
//! head: two sockets' buffers in one ring would go out on whichever sent first. The kernel
//! counts a buffer it sent only part of as consumed, so the rest of that one goes out with
//! a plain send before the next bundle. Where the kernel has no bundles, or refuses the
//! first one (`EINVAL`), each buffer goes out with a plain send; [`SendRing::is_bundled`]
//! and `ring_info().send_bundles` say which way is in force.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;

use io_uring::{opcode, squeue, types};

use super::convert::cqe_result;
use super::registered::Target;
use crate::buf_ring::send_ring::SendRingMemory;
use crate::context::with_driver;
use crate::driver::slot::{Completion, OpKind};
use crate::driver::{sqe_patch, RetiredSendRing};
use crate::fd::{FixedFd, SharedFd};
use crate::op::{Op, OpData};

/// A connection's send buffers, queued with [`push`](Self::push) and sent, in order, with
/// [`send`](Self::send) (see the module docs). Belongs to the core that made it.
pub struct SendRing {
    inner: Rc<Inner>,
}

struct Inner {
    /// Always `Some` until the drop hands it to the driver.
    memory: Option<SendRingMemory>,
    /// The registered buffer group; `None`: plain sends only.
    group: Option<u16>,
    bundled: Cell<bool>,
    /// Bytes queued in the buffer at each ring index.
    lens: Box<[Cell<u32>]>,
    /// The oldest position not yet sent in full.
    head: Cell<u16>,
    /// The position the kernel takes next (`head`, or one past it after a partial bundle).
    kernel_head: Cell<u16>,
    /// The next position [`SendRing::push`] fills.
    tail: Cell<u16>,
    /// Bytes of the buffer at `head` already sent.
    sent: Cell<u32>,
    /// A send is in flight, or one was dropped or failed: the kernel may still read the
    /// buffers, so nothing is queued or sent again.
    busy: Cell<bool>,
    retire: Option<Rc<RefCell<Vec<RetiredSendRing>>>>,
}

impl SendRing {
    /// `count` (a power of two) buffers of `buf_size` bytes, registered with the current
    /// core's ring where it has send bundles; otherwise (or when registration fails) the
    /// same buffers sent with plain sends.
    ///
    /// # Panics
    /// Outside a coreline runtime thread.
    pub fn new(count: u16, buf_size: u32) -> io::Result<Self> {
        Self::build(count, buf_size, with_driver(|d| d.info().send_bundles))
    }

    /// The same ring sent with plain sends only, as where the kernel has no bundles.
    ///
    /// # Panics
    /// Outside a coreline runtime thread.
    pub fn unbundled(count: u16, buf_size: u32) -> io::Result<Self> {
        Self::build(count, buf_size, false)
    }

    fn build(count: u16, buf_size: u32, bundles: bool) -> io::Result<Self> {
        let memory = SendRingMemory::new(count, buf_size)?;
        let registered = if bundles {
            with_driver(|d| {
                d.register_send_ring(&memory)
                    .map(|group| (group, d.retired_send_rings.clone()))
            })
            .map_err(|e| log::warn!("coreline: send ring not registered ({e}); plain sends"))
            .ok()
        } else {
            None
        };
        let (group, retire) = registered.unzip();
        Ok(SendRing {
            inner: Rc::new(Inner {
                memory: Some(memory),
                group,
                bundled: Cell::new(group.is_some()),
                lens: (0..count).map(|_| Cell::new(0)).collect(),
                head: Cell::new(0),
                kernel_head: Cell::new(0),
                tail: Cell::new(0),
                sent: Cell::new(0),
                busy: Cell::new(false),
                retire,
            }),
        })
    }

    /// Whether sends go out as bundles.
    pub fn is_bundled(&self) -> bool {
        self.inner.bundled.get()
    }

    /// Buffers in the ring.
    pub fn capacity(&self) -> usize {
        usize::from(self.inner.memory().count())
    }

    /// Bytes per buffer.
    pub fn buf_size(&self) -> usize {
        self.inner.memory().buf_size() as usize
    }

    /// Buffers queued and not yet sent.
    pub fn queued(&self) -> usize {
        usize::from(self.inner.tail.get().wrapping_sub(self.inner.head.get()))
    }

    /// Copies `bytes` into the next free buffer. Returns `false` (queuing nothing) when
    /// every buffer is queued, `bytes` is longer than a buffer, or a send is in flight (or
    /// was dropped in flight). Empty `bytes` queue nothing and return `true`.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let inner = &self.inner;
        let memory = inner.memory();
        if inner.busy.get()
            || self.queued() == self.capacity()
            || bytes.len() > memory.buf_size() as usize
        {
            return false;
        }
        if bytes.is_empty() {
            return true;
        }
        let tail = inner.tail.get();
        memory.fill(tail, bytes);
        inner.lens[usize::from(tail) % inner.lens.len()].set(bytes.len() as u32);
        inner.tail.set(tail.wrapping_add(1));
        true
    }

    /// Sends every queued buffer on `fd`, in order, and empties the queue.
    ///
    /// A send dropped before it completes, or one that fails, leaves the ring unusable:
    /// later sends fail and [`push`](Self::push) queues nothing.
    pub async fn send(&mut self, fd: &SharedFd) -> io::Result<()> {
        send_all(&self.inner, || Target::Fd(fd.clone())).await
    }

    /// [`send`](Self::send) on a direct descriptor.
    pub async fn send_fixed(&mut self, fd: &FixedFd) -> io::Result<()> {
        send_all(&self.inner, || Target::Fixed(fd.clone())).await
    }
}

impl Inner {
    fn memory(&self) -> &SendRingMemory {
        self.memory
            .as_ref()
            .expect("send ring memory present until drop")
    }

    fn len_at(&self, position: u16) -> u32 {
        self.lens[usize::from(position) % self.lens.len()].get()
    }

    /// Accounts for a bundle that sent `n` bytes: the kernel consumed every buffer it
    /// touched, the last one possibly in part.
    fn consume_bundle(&self, mut n: u32) {
        while n > 0 && self.head.get() != self.tail.get() {
            let head = self.head.get();
            let len = self.len_at(head);
            self.kernel_head.set(head.wrapping_add(1));
            if n >= len {
                n -= len;
                self.head.set(head.wrapping_add(1));
            } else {
                self.sent.set(n);
                n = 0;
            }
        }
    }

    /// Accounts for a plain send of `n` bytes of the buffer at `head`.
    fn consume_plain(&self, n: u32) {
        let head = self.head.get();
        let sent = self.sent.get() + n;
        if sent >= self.len_at(head) {
            self.sent.set(0);
            self.head.set(head.wrapping_add(1));
            if !self.bundled.get() || self.kernel_head.get() == head {
                self.kernel_head.set(head.wrapping_add(1));
            }
        } else {
            self.sent.set(sent);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let (Some(group), Some(retire), Some(memory)) =
            (self.group, &self.retire, self.memory.take())
        {
            // Unregistered at the core's next enter; the memory lives until then.
            retire.borrow_mut().push(RetiredSendRing { group, memory });
        }
    }
}

async fn send_all(inner: &Rc<Inner>, target: impl Fn() -> Target) -> io::Result<()> {
    if inner.busy.replace(true) {
        return Err(io::Error::other(
            "a send of this ring was dropped in flight or failed",
        ));
    }
    while inner.head.get() != inner.tail.get() {
        let head = inner.head.get();
        let how = match inner.group {
            Some(group) if inner.bundled.get() && inner.kernel_head.get() == head => {
                inner.memory().publish(inner.tail.get());
                How::Bundle(group)
            }
            _ => How::Plain(head, inner.sent.get()),
        };
        let op = SendFromRing {
            target: target(),
            ring: inner.clone(),
            how,
        };
        match (Op::new(op).await, how) {
            // The kernel does not take bundles: plain sends from now on.
            (Err(e), How::Bundle(_)) if e.raw_os_error() == Some(libc::EINVAL) => {
                log::warn!("coreline: send bundle refused ({e}); plain sends");
                inner.bundled.set(false);
                with_driver(|d| d.step_down_send_bundles());
            }
            (Err(e), _) => return Err(e),
            (Ok(0), _) => return Err(io::ErrorKind::WriteZero.into()),
            (Ok(n), How::Bundle(_)) => inner.consume_bundle(n),
            (Ok(n), How::Plain(..)) => inner.consume_plain(n),
        }
    }
    inner.busy.set(false);
    Ok(())
}

/// What one send takes.
#[derive(Clone, Copy)]
enum How {
    /// Every published buffer of this group from the kernel's head.
    Bundle(u16),
    /// The buffer at this position, from this offset.
    Plain(u16, u32),
}

struct SendFromRing {
    target: Target,
    /// Keeps the buffers alive while the kernel may read them.
    ring: Rc<Inner>,
    how: How,
}

impl OpData for SendFromRing {
    type Output = io::Result<u32>;
    const KIND: OpKind = OpKind::SendsFromRing;
    fn sqe(&mut self) -> squeue::Entry {
        let (ptr, len) = match self.how {
            How::Bundle(_) => (std::ptr::null(), 0),
            How::Plain(position, offset) => {
                let len = self.ring.len_at(position).saturating_sub(offset);
                self.ring.memory().bytes(position, offset, len)
            }
        };
        let mut sqe = match &self.target {
            Target::Fd(fd) => opcode::Send::new(types::Fd(fd.raw()), ptr, len),
            Target::Fixed(fd) => opcode::Send::new(types::Fixed(fd.index()), ptr, len),
        }
        .flags(libc::MSG_NOSIGNAL)
        .build();
        if let How::Bundle(group) = self.how {
            sqe = sqe.flags(squeue::Flags::BUFFER_SELECT);
            sqe_patch::or_ioprio(&mut sqe, sqe_patch::RECVSEND_BUNDLE);
            sqe_patch::set_buf_index(&mut sqe, group);
        }
        sqe
    }
    fn complete(self, c: Completion) -> Self::Output {
        cqe_result(c)
    }
}
