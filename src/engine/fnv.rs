//! FNV-1a, 64-bit, with murmur3's finalizer: for hash maps whose keys are short and chosen
//! by the app (area names, tenants), where SipHash's setup dominates a lookup. Never for
//! keys an attacker picks (rate-limit keys use std's keyed SipHash).

use std::hash::{BuildHasherDefault, Hasher};

/// The hasher (see the module docs).
#[derive(Default)]
pub(crate) struct Fnv(u64);

/// What a map takes as its hasher.
pub(crate) type FnvBuild = BuildHasherDefault<Fnv>;

/// FNV-1a over `bytes` from `seed` (0: FNV's offset basis), finalized.
pub(crate) fn hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = Fnv(seed);
    h.write(bytes);
    h.finish()
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        // FNV's high bits are weak for short keys (hashbrown reads its tags from the top
        // bits; 4-byte ids pick few shards by them): the finalizer mixes them.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}
