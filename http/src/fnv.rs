//! FNV-1a, the hasher of the per-core maps looked up on every request (the file cache,
//! the client's pool): their keys are short, and SipHash cost more than the rest of a
//! lookup. Each map using it says why a collision flood cannot hurt more than its own
//! lookups.

use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap<K, V, FnvBuild>`: a map hashed with [`Fnv`].
pub(crate) type FnvBuild = BuildHasherDefault<Fnv>;

/// The 64-bit FNV-1a hasher.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}
