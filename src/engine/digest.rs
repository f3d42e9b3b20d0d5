//! The state digest's accumulator: a multiset hash over the rows of every digested
//! table (catalog flag), which `redo::Tracked` keeps up to date with every change.
//! Restore points record and check it (`restore_points::digest` stores it).

use crate::error::{Error, Result};

/// The multiset hash of a set of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StateDigest([u64; 8]);

impl StateDigest {
    pub(crate) fn row(id: u16, key: &[u8], value: &[u8]) -> [u64; 8] {
        let mut h = blake3::Hasher::new();
        // Every write hashes a few rows: a small one goes to BLAKE3 in one piece (each
        // `update` call has a fixed cost), the same bytes either way.
        const SMALL: usize = 512;
        let len = 2 + 8 + key.len() + 8 + value.len();
        if len <= SMALL {
            let mut buf = [0u8; SMALL];
            let mut at = 0;
            for part in [
                &id.to_le_bytes()[..],
                &(key.len() as u64).to_le_bytes(),
                key,
                &(value.len() as u64).to_le_bytes(),
                value,
            ] {
                buf[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            h.update(&buf[..at]);
        } else {
            h.update(&id.to_le_bytes());
            h.update(&(key.len() as u64).to_le_bytes());
            h.update(key);
            h.update(&(value.len() as u64).to_le_bytes());
            h.update(value);
        }
        let mut out = [0u8; 64];
        h.finalize_xof().fill(&mut out);
        let mut lanes = [0u64; 8];
        for (i, l) in lanes.iter_mut().enumerate() {
            *l = u64::from_le_bytes(out[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        }
        lanes
    }

    pub(crate) fn add_row(&mut self, id: u16, key: &[u8], value: &[u8]) {
        for (a, b) in self.0.iter_mut().zip(Self::row(id, key, value)) {
            *a = a.wrapping_add(b);
        }
    }

    pub(crate) fn sub_row(&mut self, id: u16, key: &[u8], value: &[u8]) {
        for (a, b) in self.0.iter_mut().zip(Self::row(id, key, value)) {
            *a = a.wrapping_sub(b);
        }
    }

    /// Adds another accumulator (a batch's changes).
    pub(crate) fn merge(&mut self, other: &StateDigest) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.wrapping_add(b);
        }
    }

    pub(crate) fn to_bytes(self) -> [u8; 64] {
        let mut b = [0u8; 64];
        for (i, l) in self.0.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&l.to_le_bytes());
        }
        b
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != 64 {
            return Err(Error::Corrupted(format!(
                "the state digest is {} bytes, not 64",
                b.len()
            )));
        }
        let mut lanes = [0u64; 8];
        for (i, l) in lanes.iter_mut().enumerate() {
            *l = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        }
        Ok(Self(lanes))
    }

    /// The 32-byte digest a restore point records.
    pub(crate) fn finish(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"hardstore restore point state v2");
        h.update(&self.to_bytes());
        *h.finalize().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::StateDigest;

    /// A row hashes the same bytes whether it is small enough to go to BLAKE3 in one
    /// piece or not: a digest kept by one path equals a scan's by the other.
    #[test]
    fn a_row_hashes_the_same_bytes_on_both_sides_of_the_small_limit() {
        for len in [0usize, 1, 100, 470, 485, 486, 487, 488, 600, 5000] {
            let key = b"some key";
            let value: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut whole = Vec::new();
            whole.extend_from_slice(&9u16.to_le_bytes());
            whole.extend_from_slice(&(key.len() as u64).to_le_bytes());
            whole.extend_from_slice(key);
            whole.extend_from_slice(&(value.len() as u64).to_le_bytes());
            whole.extend_from_slice(&value);
            let mut out = [0u8; 64];
            blake3::Hasher::new()
                .update(&whole)
                .finalize_xof()
                .fill(&mut out);
            let want: Vec<u64> = out
                .chunks(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert_eq!(StateDigest::row(9, key, &value).to_vec(), want, "len {len}");
        }
    }
}
