//! The core's table of buffers registered for sends (`ops::RegisteredBuf`) and the way
//! sends from them go out; the buffer groups of send rings (`ops::SendRing`).

use std::io;
use std::rc::Rc;

use crate::buf_ring::send_ring::SendRingMemory;

use super::{Driver, RegisteredSendOp};

impl Driver {
    /// Registers `bytes` in the next slot of the core's buffer table (made on first use);
    /// returns the slot.
    pub(crate) fn register_send_buffer(&mut self, bytes: Rc<[u8]>) -> std::io::Result<u16> {
        let slots = crate::ops::REGISTERED_SLOTS;
        let index = self.send_bufs.len() as u32;
        if index >= slots {
            return Err(std::io::Error::other(format!(
                "all {slots} registered-buffer slots of this core are in use"
            )));
        }
        if !self.send_table {
            self.ring.submitter().register_buffers_sparse(slots)?;
            self.send_table = true;
        }
        let iov = libc::iovec {
            iov_base: bytes.as_ptr().cast_mut().cast(),
            iov_len: bytes.len(),
        };
        // SAFETY: the bytes are kept in `send_bufs` (never written through this pointer by
        // us) until the driver is dropped, after the ring that registered them.
        unsafe {
            self.ring
                .submitter()
                .register_buffers_update(index, &[iov], None)?;
        }
        self.send_bufs.push(bytes);
        self.info.registered_buffers = index + 1;
        Ok(index as u16)
    }

    /// The kernel refused `op` for registered-buffer sends: use the next one.
    pub(crate) fn step_down_registered_send(&mut self, op: RegisteredSendOp) {
        if self.info.registered_send == op {
            self.info.registered_send = match op {
                RegisteredSendOp::Send => RegisteredSendOp::SendZc,
                _ => RegisteredSendOp::Plain,
            };
        }
    }
}

/// Buffer group ids for send rings: 0 is the receive ring's, the rest are handed out and
/// taken back as rings come and go.
#[derive(Default)]
pub(crate) struct SendGroups {
    next: u16,
    free: Vec<u16>,
}

impl SendGroups {
    /// Whether any send ring was registered on this core (then completions may name a
    /// buffer of a send ring, not of the receive ring).
    pub(crate) fn any_made(&self) -> bool {
        self.next != 0
    }
}

/// A send ring whose owner went: its group and the memory registered under it.
pub(crate) struct RetiredSendRing {
    pub(crate) group: u16,
    pub(crate) memory: SendRingMemory,
}

impl Driver {
    /// Registers `memory` as a new buffer group; returns the group.
    pub(crate) fn register_send_ring(&mut self, memory: &SendRingMemory) -> io::Result<u16> {
        let groups = &mut self.send_groups;
        let group = match groups.free.pop() {
            Some(group) => group,
            None if groups.next < u16::MAX => {
                groups.next += 1;
                groups.next
            }
            None => {
                return Err(io::Error::other(
                    "all buffer group ids of this core are in use",
                ))
            }
        };
        match memory.register(&self.ring, group) {
            Ok(()) => Ok(group),
            Err(e) => {
                self.send_groups.free.push(group);
                Err(e)
            }
        }
    }

    /// Unregisters the send rings dropped since the last enter, then frees their memory.
    pub(crate) fn flush_send_ring_drops(&mut self) {
        let retired = std::mem::take(&mut *self.retired_send_rings.borrow_mut());
        for RetiredSendRing { group, memory } in retired {
            match self.ring.submitter().unregister_buf_ring(group) {
                Ok(()) => self.send_groups.free.push(group),
                Err(e) => {
                    // The kernel may still read the entries: never unmap them.
                    log::warn!("coreline: send ring {group} not unregistered ({e}); kept");
                    std::mem::forget(memory);
                }
            }
        }
    }

    /// The kernel refused a send bundle: send rings use plain sends from now on.
    pub(crate) fn step_down_send_bundles(&mut self) {
        self.info.send_bundles = false;
    }
}
