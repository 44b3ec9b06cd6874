//! Owned buffers: operations take them by value and give them back with the result, so
//! the kernel never writes into memory the caller could free or move meanwhile.
//!
//! Implemented for `Vec<u8>`, `Box<[u8]>`, `String`, `Rc<[u8]>` and static slices; with
//! the `bytes` feature also for `bytes::Bytes` (send) and `bytes::BytesMut` (send and
//! receive), so a `Bytes` body goes to the kernel without a copy.

/// A buffer the kernel may read from: a stable pointer to `bytes_init()` initialized bytes.
///
/// `Unpin` because the operation futures that own a buffer are `Unpin` and move it in
/// and out of their state while polled; `'static` because an abandoned operation keeps
/// its buffer until the kernel's final completion, past any borrow.
///
/// # Safety
/// `stable_ptr()` must stay valid for `bytes_init()` bytes, and must not move, for as long
/// as the value lives, even if the value itself is moved (heap or static storage).
pub unsafe trait IoBuf: Unpin + 'static {
    /// Pointer to the first byte.
    fn stable_ptr(&self) -> *const u8;
    /// Number of initialized bytes to send.
    fn bytes_init(&self) -> usize;
}

/// A buffer the kernel may write into.
///
/// # Safety
/// As [`IoBuf`], and `stable_mut_ptr()` must be valid for writes of `bytes_total()` bytes.
pub unsafe trait IoBufMut: IoBuf {
    /// Pointer to the first byte, writable.
    fn stable_mut_ptr(&mut self) -> *mut u8;
    /// Capacity the kernel may fill.
    fn bytes_total(&self) -> usize;
    /// Records that the first `len` bytes are now initialized.
    ///
    /// # Safety
    /// The first `len` bytes must actually have been written.
    unsafe fn set_init(&mut self, len: usize);
}

// SAFETY: a Vec's heap buffer does not move when the Vec is moved, and we never grow it
// while an operation owns it.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: the spare capacity is heap memory owned by the Vec, writable, and stable.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, len: usize) {
        if len > self.len() {
            // SAFETY: the caller guarantees the first `len` bytes were written; len is at
            // most the capacity the kernel was given.
            unsafe { self.set_len(len) };
        }
    }
}

// SAFETY: a boxed slice's heap storage is stable across moves.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: a boxed slice is fully initialized heap memory, writable and stable.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
    unsafe fn set_init(&mut self, _len: usize) {}
}

// SAFETY: static data lives for the whole program and never moves.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: static data lives for the whole program and never moves.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: a String's heap buffer is stable across moves.
unsafe impl IoBuf for String {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: an Rc'd slice lives on the heap for as long as this Rc does, immutably.
unsafe impl IoBuf for std::rc::Rc<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: a `Bytes` is an immutable view of heap or static memory that the value keeps
// alive (by refcount, or forever for `Bytes::from_static`); moving the `Bytes` moves only
// its handle, never the bytes it points at, and nothing can write them while it lives.
#[cfg(feature = "bytes")]
unsafe impl IoBuf for bytes::Bytes {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: a `BytesMut` always keeps its storage on the heap (it has no inline form), so
// moving the value does not move the bytes; the storage is only reallocated by methods
// that take `&mut self` (reserve, extend), which no one can call while an op owns it.
#[cfg(feature = "bytes")]
unsafe impl IoBuf for bytes::BytesMut {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: `capacity()` bytes from `as_mut_ptr()` are heap memory only this `BytesMut` may
// write (handles split from one allocation own disjoint ranges of it), stable as above.
#[cfg(feature = "bytes")]
unsafe impl IoBufMut for bytes::BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, len: usize) {
        if len > self.len() {
            // SAFETY: the caller guarantees the first `len` bytes were written, and len is
            // at most the capacity the kernel was given.
            unsafe { self.set_len(len) };
        }
    }
}
