//! [`RecvBuf`]: received bytes, in a provided buffer of the core's ring or on the heap.

use std::ops::Deref;
use std::rc::Rc;

use super::BufRing;

/// Received bytes, in a provided buffer (dropping it gives the buffer back to the ring)
/// or, for a chunk its receiver left unread past its turn, in a heap copy.
pub struct RecvBuf {
    storage: Storage,
    /// Where the data starts in the buffer (an incremental piece's offset, and past the
    /// recvmsg header with timestamps on).
    offset: u32,
    len: usize,
    reaped_us: u64,
}

/// Where a [`RecvBuf`]'s bytes are.
enum Storage {
    Ring { ring: Rc<BufRing>, bid: u16 },
    Heap(Box<[u8]>),
}

impl RecvBuf {
    pub(crate) fn new(
        ring: Rc<BufRing>,
        bid: u16,
        offset: u32,
        len: usize,
        reaped_us: u64,
    ) -> Self {
        debug_assert!(offset as usize + len <= ring.buf_size as usize);
        RecvBuf {
            storage: Storage::Ring { ring, bid },
            offset,
            len,
            reaped_us,
        }
    }

    /// Bytes that were moved out of their provided buffer (see `driver/evict.rs`).
    pub(crate) fn moved(bytes: Box<[u8]>, reaped_us: u64) -> Self {
        RecvBuf {
            len: bytes.len(),
            storage: Storage::Heap(bytes),
            offset: 0,
            reaped_us,
        }
    }

    /// Keeps only `len` bytes from `offset` (a recvmsg's payload, after its header).
    pub(crate) fn narrow(&mut self, offset: usize, len: usize) {
        assert!(offset + len <= self.len, "narrowed past the received bytes");
        self.offset += u32::try_from(offset).expect("recvmsg header fits in u32");
        self.len = len;
    }

    /// When the core reaped the completion that delivered these bytes, in
    /// [`loop_clock_us`](crate::metrics::loop_clock_us) units: the arrival time as the
    /// core first saw it, even when the chunk is read later (it queues while its
    /// connection's task is busy). 0 when metrics are off.
    pub fn reaped_at_us(&self) -> u64 {
        self.reaped_us
    }

    /// Number of received bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes were received.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Deref for RecvBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let start = self.offset as usize;
        match &self.storage {
            // SAFETY: the kernel wrote these `len` bytes at `offset` of buffer `bid` and
            // handed them to us (narrow only shrinks the range); the buffer is not
            // republished to the kernel until this RecvBuf is dropped (its piece released).
            Storage::Ring { ring, bid } => unsafe {
                std::slice::from_raw_parts(ring.buffer_ptr(*bid).add(start), self.len)
            },
            Storage::Heap(bytes) => &bytes[start..start + self.len],
        }
    }
}

impl AsRef<[u8]> for RecvBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for RecvBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBuf")
            .field(
                "bid",
                &match self.storage {
                    Storage::Ring { bid, .. } => Some(bid),
                    Storage::Heap(_) => None,
                },
            )
            .field("len", &self.len)
            .field("reaped_us", &self.reaped_us)
            .finish()
    }
}

impl Drop for RecvBuf {
    fn drop(&mut self) {
        if let Storage::Ring { ring, bid } = &self.storage {
            ring.release_piece(*bid);
        }
    }
}
