//! The core's table of buffers registered for sends (`ops::RegisteredBuf`) and the way
//! sends from them go out.

use std::rc::Rc;

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
