//! What a restore keeps: after redb rolled the whole file back to a savepoint, the parts
//! that must not go back are copied forward from a snapshot taken just before.
//!
//! Kept: the audit log (entries, Merkle nodes and tenant index appended since the point),
//! the log ring (chunks written or evicted since), counters that must only grow (the
//! idempotency epoch, the next dead-letter id: reusing either could let a stale token or
//! claim match a new holder), the store's metadata, the backup catalog (with change
//! tracking reset, so the next backup is a full one), and the restore points up to the one
//! restored (redb invalidates the later savepoints).
//!
//! Only rows that changed since the point are copied, so the cost follows the work done
//! since, not the size of the store.

use redb::{ReadTransaction, TableDefinition, WriteTransaction};

use crate::audit::tables::{BY_TENANT, ENTRIES, NODES};
use crate::audit::AuditEntry;
use crate::error::{Error, Result};
use crate::logs::ring::{self, CHUNK, CHUNKS};

/// Copies everything a restore keeps from `before` into `txn` (already restored to the
/// point `target`, whose audit size was `point_audit_size`).
pub(crate) fn carry_forward(
    txn: &WriteTransaction,
    before: &ReadTransaction,
    target: u64,
    point_audit_size: u64,
    audit_size: u64,
    next_change: Option<u64>,
) -> Result<()> {
    audit(txn, before, point_audit_size, audit_size)?;
    crate::backup::journal::carry_after_restore(txn, before, next_change)?;
    logs(txn, before)?;
    copy_all(txn, before, crate::idempotency::tables::META)?;
    copy_all(txn, before, crate::dead_letters::tables::META)?;
    copy_all(txn, before, crate::store::META)?;
    let points = before.open_table(super::tables::POINTS)?;
    let mut out = txn.open_table(super::tables::POINTS)?;
    // The point's own state may list points deleted since: start from none.
    out.retain(|_, _| false)?;
    for row in points.range(..=target)? {
        let (k, v) = row?;
        out.insert(k.value(), v.value())?;
    }
    Ok(())
}

pub(crate) fn copy_all<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &WriteTransaction,
    before: &ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<()> {
    let src = before.open_table(def)?;
    let mut dst = txn.open_table(def)?;
    dst.retain(|_, _| false)?;
    for row in src.range::<K::SelfType<'_>>(..)? {
        let (k, v) = row?;
        dst.insert(k.value(), v.value())?;
    }
    Ok(())
}

/// The audit log grew from `from` to `to` entries since the point: copy the new entries
/// and nodes, and rebuild their tenant index rows from the entries.
fn audit(txn: &WriteTransaction, before: &ReadTransaction, from: u64, to: u64) -> Result<()> {
    if to < from {
        return Err(Error::Corrupted(format!(
            "the audit log holds {to} entries, fewer than the {from} of the restore point"
        )));
    }
    let src = before.open_table(ENTRIES)?;
    let mut entries = txn.open_table(ENTRIES)?;
    let mut by_tenant = txn.open_table(BY_TENANT)?;
    for row in src.range(from..to)? {
        let (k, v) = row?;
        let e = AuditEntry::from_record(v.value())?;
        entries.insert(k.value(), v.value())?;
        by_tenant.insert(
            (e.tenant.as_str(), e.time, e.seq),
            (e.actor.as_str(), e.action.as_str()),
        )?;
    }
    let src = before.open_table(NODES)?;
    let mut nodes = txn.open_table(NODES)?;
    // Every node completed by leaf `from` or later has a key of at least `from << 6`.
    for row in src.range(from << 6..)? {
        let (k, v) = row?;
        nodes.insert(k.value(), v.value())?;
    }
    Ok(())
}

/// Makes the ring's chunks and head/next equal to `before`'s, touching only the chunks
/// evicted or written since the point.
fn logs(txn: &WriteTransaction, before: &ReadTransaction) -> Result<()> {
    let (head_p, next_p) = ring::live_range(&txn.open_table(ring::META)?)?;
    let (head_s, next_s) = ring::live_range(&before.open_table(ring::META)?)?;
    let src = before.open_table(CHUNKS)?;
    let mut dst = txn.open_table(CHUNKS)?;
    let mut sync = |c: u64| -> Result<()> {
        match src.get(c)? {
            Some(v) => {
                dst.insert(c, v.value())?;
            }
            None => {
                dst.remove(c)?;
            }
        }
        Ok(())
    };
    // Evicted since: chunks below the current head.
    for c in head_p / CHUNK..(head_s / CHUNK).max(head_p / CHUNK) {
        sync(c)?;
    }
    // Written since: from the chunk the point's next entry went to, to the last one.
    if next_s > 0 {
        for c in next_p / CHUNK..=(next_s - 1) / CHUNK {
            sync(c)?;
        }
    }
    drop(dst);
    copy_all(txn, before, ring::META)
}
