//! The restore points' own table: one row per point, keyed by its redb savepoint id.
//!
//! Invariants:
//! - Every row names a redb persistent savepoint that exists, and the other way round for
//!   savepoints this module made: a row is written in the transaction that takes its
//!   savepoint, and removed in the one that deletes it (or that restores an earlier
//!   point, which invalidates the later savepoints).
//! - Rows are never part of any savepoint's state: a point's row is written after its
//!   savepoint was taken, and restores carry the table forward instead of rolling it back.

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::Result;

/// Savepoint id -> record.
pub(crate) const POINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("restore.points");

/// A stored restore point (record version 1). Never change it: add a version instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PointRecordV1 {
    pub(crate) label: String,
    pub(crate) created: u64,
    pub(crate) audit_size: u64,
    pub(crate) audit_root: [u8; 32],
    pub(crate) digest: [u8; 32],
}

pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(POINTS)?;
    Ok(())
}

/// Every point in a table, in id order.
pub(crate) fn all(
    points: &impl ReadableTable<u64, &'static [u8]>,
) -> Result<Vec<(u64, PointRecordV1)>> {
    let mut out = Vec::new();
    for row in points.range::<u64>(..)? {
        let (k, v) = row?;
        out.push((k.value(), codec::decode(v.value())?));
    }
    Ok(out)
}
