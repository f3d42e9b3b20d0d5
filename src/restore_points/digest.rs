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
//! - The accumulator is stored in `restore.state` (under `digest`, with the sequence
//!   number of the batch that stored it under `digest_seq`) by every synced commit (a
//!   checkpoint or an exclusive job), and only then: it is what survives a crash, and
//!   storing it at every batch cost each write one more table (2-3 µs). The writer keeps
//!   the current value in memory (`PointsState::digest`), updated by every batch.
//! - So the stored accumulator is the state's exactly when its `digest_seq` is the
//!   `APPLIED` sequence number (`redo`), which synced commits write alongside it. At open,
//!   after recovery, a mismatch means batches were replayed from the redo log (or made
//!   durable by redb unsynced): the accumulator is recomputed by a scan and stored. A
//!   format 3 store's accumulator, stored by every batch, has no `digest_seq` and is
//!   taken as it is (and tagged) at its first open.
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
/// The sequence number of the batch that stored the accumulator.
const SEQ_KEY: &str = "digest_seq";

/// The stored accumulator and the sequence number it was stored at, if there is one
/// (`None` for the sequence: stored by a format 3 build, at every batch).
fn stored_digest(read: &redb::ReadTransaction) -> Result<Option<(StateDigest, Option<u64>)>> {
    let t = match read.open_table(STATE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(v) = t.get(DIGEST_KEY)? else {
        return Ok(None);
    };
    let d = StateDigest::from_bytes(v.value())?;
    let seq = match t.get(SEQ_KEY)? {
        Some(s) => Some(u64::from_le_bytes(s.value().try_into().map_err(|_| {
            crate::error::Error::Corrupted(
                "the state digest's sequence number is not 8 bytes".into(),
            )
        })?)),
        None => None,
    };
    Ok(Some((d, seq)))
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

/// Commit observer: adds the batch's changes to the in-memory digest, and stores it when
/// the batch commits synced (see the invariants).
pub(crate) fn store_observer(tx: &mut crate::WriteTx<'_>) -> Result<()> {
    let delta = tx.redo().take_digest();
    let d = tx.digest_mut()?;
    d.merge(&delta);
    let d = *d;
    match tx.commit_kind() {
        (seq, true) => tx.with_txn(|txn, redo| store(txn, redo, &d, seq)),
        (_, false) => Ok(()),
    }
}

/// Stores `d` as the accumulator as of batch `seq`, through the redo log (`redo` records
/// the change).
pub(crate) fn store(
    txn: &redb::WriteTransaction,
    redo: &crate::redo::RedoBuf,
    d: &StateDigest,
    seq: u64,
) -> Result<()> {
    let mut t = crate::redo::Tracked::open(txn, STATE, redo)?;
    t.insert(DIGEST_KEY, d.to_bytes().as_slice())?;
    t.insert(SEQ_KEY, seq.to_le_bytes().as_slice())?;
    Ok(())
}

/// Drops the stored accumulator, so the next open recomputes it by a scan (after rows
/// were written around the digest: a replica's segments applied).
pub(crate) fn forget(txn: &redb::WriteTransaction) -> Result<()> {
    txn.open_table(STATE)?.remove(DIGEST_KEY)?;
    Ok(())
}

/// The accumulator of a store being opened (after recovery, before any batch): the stored
/// one when it is the state's, else a scan, stored durably before anything else writes.
pub(crate) fn load_or_init(db: &redb::Database) -> Result<StateDigest> {
    let read = redb::ReadableDatabase::begin_read(db)?;
    let applied = crate::redo::applied_seq(&read)?;
    let d = match stored_digest(&read)? {
        Some((d, Some(seq))) if seq == applied => return Ok(d),
        // Stored by every batch of a format 3 build, so the state's: tagged below.
        Some((d, None)) => d,
        _ => scan(&read)?,
    };
    drop(read);
    let txn = db.begin_write()?;
    {
        let mut t = txn.open_table(STATE)?;
        t.insert(DIGEST_KEY, d.to_bytes().as_slice())?;
        t.insert(SEQ_KEY, applied.to_le_bytes().as_slice())?;
    }
    txn.commit()?;
    Ok(d)
}
