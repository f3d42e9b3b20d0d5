//! The change journal: which rows each batch touched, so an incremental or differential
//! backup copies only those.
//!
//! Tracking starts with the first cataloged full backup. From then on every batch that
//! changed a backed-up table writes one row to `backup.changes`, keyed by the next
//! change number, listing the (table id, key) pairs it touched (deduplicated). A backup
//! records the change number its snapshot reached (`covered to`); the next incremental
//! reads the journal from there, and writes each touched row's value as of its own
//! snapshot, or a delete when the row is gone. Overwrites and deletes are both captured,
//! because it is the key that is journaled, not the value.
//!
//! Invariants:
//! - The journal rows are written through the redo log like any other change, in the
//!   batch whose changes they list, so a batch and its journal row commit (and are
//!   recovered) together.
//! - `floor`: the journal holds every change numbered from `floor` on. A base backup
//!   whose `covered to` is below it cannot be built upon: the next backup is a full one.
//!   Pruning after a full raises the floor. A restore-point restore writes its rows
//!   through the write path, so the journal lists them like any batch's.
//! - Change numbers only grow, across prunes and restores (`floor` keeps the next one
//!   when the journal is empty).
//! - `idem.meta` (the idempotency epoch) is also written at every open, outside any
//!   batch, so a backup always copies that one-row table whole.

use std::collections::BTreeSet;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use crate::error::{Error, Result};
use crate::redo::{RedoBuf, Tracked};

/// Change number → the (table id, key) pairs one batch touched.
pub(crate) const CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("backup.changes");
/// `floor` (present only while tracking is on) and `next_id` (the next catalog id).
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("backup.meta");
pub(crate) const FLOOR: &str = "floor";

/// Rows removed per batch when pruning, so a prune never holds the writer long.
const PRUNE_BATCH: usize = 4096;

/// The next change number, or `None` when tracking is off.
pub(crate) fn next_change(read: &ReadTransaction) -> Result<Option<u64>> {
    let Some(floor) = read.open_table(META)?.get(FLOOR)?.map(|v| v.value()) else {
        return Ok(None);
    };
    let last = read.open_table(CHANGES)?.last()?.map(|(k, _)| k.value());
    Ok(Some(last.map_or(floor, |l| floor.max(l + 1))))
}

/// The journal's floor as `read` sees it (`None`: tracking is off).
pub(crate) fn floor(read: &ReadTransaction) -> Result<Option<u64>> {
    Ok(read.open_table(META)?.get(FLOOR)?.map(|v| v.value()))
}

/// Writes the journal row of the batch whose changes `redo` holds, numbered `n`, if it
/// touched a backed-up table; returns whether it wrote one.
pub(crate) fn record(txn: &WriteTransaction, redo: &RedoBuf, n: u64) -> Result<bool> {
    let mut touched = BTreeSet::new();
    redo.for_each_key(|id, key| {
        if crate::engine::catalog::is(id, |f| f.backed_up) {
            touched.insert((id, key.to_vec()));
        }
    });
    if touched.is_empty() {
        return Ok(false);
    }
    let mut row = Vec::new();
    for (id, key) in &touched {
        row.extend_from_slice(&id.to_le_bytes());
        row.extend_from_slice(&(key.len() as u32).to_le_bytes());
        row.extend_from_slice(key);
    }
    Tracked::open(txn, CHANGES, redo)?.insert(n, row.as_slice())?;
    Ok(true)
}

/// Commit observer (the last): writes the batch's journal row while tracking is on.
pub(crate) fn record_observer(tx: &mut crate::WriteTx<'_>) -> Result<()> {
    if let Some(n) = *tx.changes_mut()? {
        if tx.with_txn(|txn, redo| record(txn, redo, n))? {
            *tx.changes_mut()? = Some(n + 1);
        }
    }
    Ok(())
}

/// Every (table id, key) changed by batches numbered `from..to`, as `read` sees the
/// journal, plus every row of the tables copied whole. Fails if the journal no longer
/// covers `from`.
pub(crate) fn touched(
    read: &ReadTransaction,
    from: u64,
    to: u64,
) -> Result<BTreeSet<(u16, Vec<u8>)>> {
    match floor(read)? {
        Some(f) if f <= from => {}
        _ => {
            return Err(Error::InvalidArgument(format!(
                "the change journal no longer covers change {from}"
            )))
        }
    }
    let mut out = BTreeSet::new();
    for row in read.open_table(CHANGES)?.range(from..to)? {
        let (k, v) = row?;
        let (n, b) = (k.value(), v.value());
        let bad = || Error::Corrupted(format!("change journal row {n} is malformed"));
        let mut at = 0;
        while at < b.len() {
            let head = b.get(at..at + 6).ok_or_else(bad)?;
            let id = u16::from_le_bytes([head[0], head[1]]);
            let klen = u32::from_le_bytes([head[2], head[3], head[4], head[5]]) as usize;
            let key = b.get(at + 6..at + 6 + klen).ok_or_else(bad)?;
            if !crate::engine::catalog::is(id, |f| f.backed_up) {
                return Err(bad());
            }
            out.insert((id, key.to_vec()));
            at += 6 + klen;
        }
    }
    // Tables written outside batches (see the module docs) are copied whole.
    for t in crate::engine::catalog::with(|f| f.backed_up && f.whole) {
        let id = t.id();
        t.for_each_row(read, &mut |k, _| {
            out.insert((id, k.to_vec()));
            Ok(())
        })?;
    }
    Ok(out)
}

/// Turns tracking on at change `next` (if it is off); returns the next change number.
pub(crate) fn start(txn: &WriteTransaction, redo: &RedoBuf, next: Option<u64>) -> Result<u64> {
    match next {
        Some(n) => Ok(n),
        None => {
            let mut meta = Tracked::open(txn, META, redo)?;
            let floor = meta.get(FLOOR)?.map_or(0, |v| v.value());
            meta.insert(FLOOR, floor)?;
            Ok(floor)
        }
    }
}

/// Removes up to one batch of journal rows numbered below `below` and raises the floor
/// to it; returns whether rows below it remain.
pub(crate) fn prune(txn: &WriteTransaction, redo: &RedoBuf, below: u64) -> Result<bool> {
    let mut changes = Tracked::open(txn, CHANGES, redo)?;
    let keys = changes
        .range(..below)?
        .take(PRUNE_BATCH + 1)
        .map(|r| r.map(|(k, _)| k.value()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for k in keys.iter().take(PRUNE_BATCH) {
        changes.remove(*k)?;
    }
    let mut meta = Tracked::open(txn, META, redo)?;
    let floor = meta.get(FLOOR)?.map(|v| v.value());
    if let Some(f) = floor {
        if f < below {
            meta.insert(FLOOR, below)?;
        }
    }
    Ok(keys.len() > PRUNE_BATCH)
}
