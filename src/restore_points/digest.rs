//! The digest of a store's mutable state: what a restore point rolls back.
//!
//! A multiset hash, kept up to date by every write: each row of a mutable table (app
//! state, idempotency keys, dead letters) hashes (BLAKE3, 64 bytes of output) to eight
//! 64-bit lanes, and the state's accumulator is the lane-wise sum, modulo 2^64, over all
//! rows. A write adds its new rows' hashes and subtracts the old ones', so a restore
//! point reads the digest instead of scanning the state; `verify` recomputes it from
//! the point's rows and compares. It detects damage and edits made outside hardstore; it
//! is not a defence against someone who can craft rows to cancel out (the audit log's
//! Merkle tree is what is tamper-evident).
//!
//! Invariants:
//! - The accumulator is stored in `restore.state` (under `digest`) in the same commit as
//!   the rows it covers; the writer keeps a copy in memory (`WriterState::digest`).
//! - Every change to a digested table (catalog flag) goes through `redo::Tracked`, which reports
//!   it here (the redo log needs the same, so nothing escapes).
//! - A store without the row (created by an earlier build, restored from a backup or
//!   exported) gets it by a scan at open.
//! - The audit log and the log ring are not in it: a restore never rolls them back.

use redb::TableDefinition;

use crate::error::{Error, Result};

/// Where the accumulator is kept.
pub(crate) const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("restore.state");
const DIGEST_KEY: &str = "digest";

/// The multiset hash of a set of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StateDigest([u64; 8]);

impl StateDigest {
    fn row(id: u16, key: &[u8], value: &[u8]) -> [u64; 8] {
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

    pub(crate) fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }

    fn to_bytes(self) -> [u8; 64] {
        let mut b = [0u8; 64];
        for (i, l) in self.0.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&l.to_le_bytes());
        }
        b
    }

    fn from_bytes(b: &[u8]) -> Result<Self> {
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

/// The stored accumulator, if there is one.
pub(crate) fn stored_digest(read: &redb::ReadTransaction) -> Result<Option<StateDigest>> {
    let t = match read.open_table(STATE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let v = t.get(DIGEST_KEY)?;
    v.map(|v| StateDigest::from_bytes(v.value())).transpose()
}

/// The digest of the mutable state `read` sees, computed from the rows of every
/// digested table in the catalog.
pub(crate) fn scan(read: &redb::ReadTransaction) -> Result<StateDigest> {
    let mut d = StateDigest::default();
    for t in crate::engine::catalog::with(|f| f.digested) {
        let id = t.id();
        t.for_each_row(read, &mut |k, v| {
            d.add_row(id, k, v);
            Ok(())
        })?;
    }
    Ok(d)
}

/// Commit observer: adds the batch's changes to the digest and stores it, in the commit
/// of the rows it covers.
pub(crate) fn store_observer(tx: &mut crate::WriteTx<'_>) -> Result<()> {
    let delta = tx.redo().take_digest();
    if delta.is_zero() {
        return Ok(());
    }
    tx.digest_mut().merge(&delta);
    let d = *tx.digest_mut();
    tx.with_txn(|txn, redo| store(txn, redo, &d))
}

/// Stores `d` as the accumulator, through the redo log (`redo` records the change).
pub(crate) fn store(
    txn: &redb::WriteTransaction,
    redo: &crate::redo::RedoBuf,
    d: &StateDigest,
) -> Result<()> {
    crate::redo::Tracked::open(txn, STATE, redo)?.insert(DIGEST_KEY, d.to_bytes().as_slice())?;
    Ok(())
}

/// The accumulator of a store being opened: the stored one, or (for a store without
/// it) a scan, stored durably before anything else writes.
pub(crate) fn load_or_init(db: &redb::Database) -> Result<StateDigest> {
    let read = redb::ReadableDatabase::begin_read(db)?;
    if let Some(d) = stored_digest(&read)? {
        return Ok(d);
    }
    let d = scan(&read)?;
    drop(read);
    let txn = db.begin_write()?;
    txn.open_table(STATE)?
        .insert(DIGEST_KEY, d.to_bytes().as_slice())?;
    txn.commit()?;
    Ok(d)
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
