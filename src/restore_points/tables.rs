//! The restore points' own tables: one row per point, keyed by its id, and the next id.
//!
//! Invariants:
//! - A point's id is also its generation in `before.rs`; ids only grow and are never
//!   reused (`NEXT_ID` is above every id ever handed out, across deletes and restores).
//! - Rows are written only by exclusive jobs (create, delete, restore), which commit
//!   durably as checkpoints, so they are not in the redo log.

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::Result;

/// Point id -> record.
pub(crate) const POINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("restore.points");
/// `next_id` -> the id the next point gets.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("restore.meta");
pub(crate) const NEXT_ID: &str = "next_id";

/// A stored restore point (record version 1). Never change it: add a version instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PointRecordV1 {
    pub(crate) label: String,
    pub(crate) created: u64,
    pub(crate) audit_size: u64,
    pub(crate) audit_root: [u8; 32],
    pub(crate) digest: [u8; 32],
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
