//! Restore points of format 2 (redb persistent savepoints) become before-images.
//!
//! Format 2 kept a point as a redb savepoint, which pins every page it references: the
//! file grew with every commit while a point was alive. At the first open by this build,
//! each point's state is read from its savepoint (restored inside a transaction that is
//! never committed) and compared with the state of the next newer point (or the current
//! state, for the newest); the rows that differ are kept as that point's images, which
//! is exactly what `before.rs` needs: the value at point `g` of a row is the image of
//! the lowest generation `>= g` holding it, else its current value. The savepoints are
//! then deleted, with the images written, in one durable transaction: a crash before it
//! leaves the savepoints for the next open to convert.

use std::collections::HashMap;

use redb::{Database, ReadableDatabase, ReadableTable};

use super::before::{self, BEFORE};
use super::tables::{META, NEXT_ID, POINTS};
use crate::error::{Error, Result};

type Row = (u16, Vec<u8>);

/// Converts every redb persistent savepoint of the store into before-images; returns
/// how many points it converted (0 for a store without any: one empty transaction).
pub(crate) fn convert_savepoints(db: &Database) -> Result<usize> {
    let ids: Vec<u64> = {
        let txn = db.begin_write()?;
        let mut ids: Vec<u64> = txn
            .list_persistent_savepoints()
            .map_err(|e| Error::Storage(format!("listing savepoints: {e}")))?
            .collect();
        txn.abort()?;
        ids.sort_unstable();
        ids
    };
    if ids.is_empty() {
        return Ok(0);
    }
    let current = db.begin_read()?;
    let points: Vec<u64> = {
        let t = current.open_table(POINTS)?;
        let mut v = Vec::new();
        for row in t.range::<u64>(..)? {
            v.push(row?.0.value());
        }
        v
    };
    // The state of the next newer point, as changes over the current state.
    let mut newer: HashMap<Row, Option<Vec<u8>>> = HashMap::new();
    let mut images: Vec<(u64, Row, Option<Vec<u8>>)> = Vec::new();
    for &id in ids.iter().rev().filter(|id| points.contains(id)) {
        let mut txn = db.begin_write()?;
        let sp = txn
            .get_persistent_savepoint(id)
            .map_err(|e| Error::Corrupted(format!("restore point {id}'s savepoint: {e}")))?;
        txn.restore_savepoint(&sp)
            .map_err(|e| Error::Corrupted(format!("restore point {id}'s savepoint: {e}")))?;
        let mut diff = Vec::new();
        for table in crate::engine::catalog::with(|f| f.digested).map(|t| t.id()) {
            let newer_value = |key: &[u8]| -> Result<Option<Vec<u8>>> {
                match newer.get(&(table, key.to_vec())) {
                    Some(v) => Ok(v.clone()),
                    None => crate::engine::catalog::get_row(&current, table, key),
                }
            };
            // Rows the point has: kept where the newer state differs.
            let mut at_point = std::collections::HashSet::new();
            crate::engine::catalog::for_each_row_in(&txn, table, &mut |k, v| {
                at_point.insert(k.to_vec());
                if newer_value(k)?.as_deref() != Some(v) {
                    diff.push(((table, k.to_vec()), Some(v.to_vec())));
                }
                Ok(())
            })?;
            // Rows only the newer state has: absent at the point.
            let mut only_newer = Vec::new();
            crate::engine::catalog::for_each_row(&current, table, &mut |k, _| {
                if !at_point.contains(k) && !matches!(newer.get(&(table, k.to_vec())), Some(None)) {
                    only_newer.push(k.to_vec());
                }
                Ok(())
            })?;
            for ((t, k), v) in &newer {
                if *t == table && v.is_some() && !at_point.contains(k) {
                    only_newer.push(k.clone());
                }
            }
            only_newer.sort();
            only_newer.dedup();
            for k in only_newer {
                diff.push(((table, k), None));
            }
        }
        txn.abort()?;
        for (row, value) in diff {
            newer.insert(row.clone(), value.clone());
            images.push((id, row, value));
        }
    }
    drop(current);
    let txn = db.begin_write()?;
    for &id in &ids {
        txn.delete_persistent_savepoint(id)
            .map_err(|e| Error::Storage(format!("deleting savepoint {id}: {e}")))?;
    }
    {
        let mut t = txn.open_table(BEFORE)?;
        for (generation, (table, key), value) in &images {
            before::insert_raw(&mut t, *generation, *table, key, value.as_deref())?;
        }
        // Rows of points whose savepoint is gone cannot be restored: dropped.
        let mut p = txn.open_table(POINTS)?;
        p.retain(|id, _| ids.contains(&id))?;
        let last = ids.last().copied().unwrap_or(0);
        let mut meta = txn.open_table(META)?;
        let next = meta.get(NEXT_ID)?.map_or(0, |v| v.value()).max(last + 1);
        meta.insert(NEXT_ID, next)?;
    }
    txn.commit()?;
    Ok(ids.len())
}
