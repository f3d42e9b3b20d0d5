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

pub(crate) use crate::engine::digest::StateDigest;
use crate::error::Result;

/// Where the accumulator is kept.
pub(crate) const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("restore.state");
const DIGEST_KEY: &str = "digest";

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
    let d = tx.digest_mut()?;
    d.merge(&delta);
    let d = *d;
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
