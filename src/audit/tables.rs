//! The audit log's redb tables and its append path. Only this module writes them.
//!
//! Invariants (checked by `verify`):
//! - `ENTRIES` holds seq -> record for every seq in `0..size`, no other keys;
//!   the record's own seq equals its key.
//! - `NODES` holds `(level, index)` -> hash for every perfect subtree of the first
//!   `size` leaves; level 0 is `leaf_hash(record)`. `size` is the level-0 count.
//! - Each index table holds one key per entry, ending in `(time, seq)`.
//! - Nothing here is ever updated or deleted: the API has no path that does.

use redb::{
    ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction,
};

use crate::audit::entry::{AuditEvent, RecordV1Ref};
use crate::audit::merkle::{leaf_hash, Frontier, Hash, NodeSource};
use crate::audit::AuditReceipt;
use crate::clock::Timestamp;
use crate::error::{Error, Result};

pub(crate) const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("audit.entries");
pub(crate) const NODES: TableDefinition<(u8, u64), Hash> = TableDefinition::new("audit.nodes");
/// (tenant, time, seq)
pub(crate) const BY_TENANT: TableDefinition<(&str, u64, u64), ()> =
    TableDefinition::new("audit.by_tenant");
/// (tenant, actor, time, seq)
pub(crate) const BY_ACTOR: TableDefinition<(&str, &str, u64, u64), ()> =
    TableDefinition::new("audit.by_actor");
/// (tenant, action, time, seq)
pub(crate) const BY_ACTION: TableDefinition<(&str, &str, u64, u64), ()> =
    TableDefinition::new("audit.by_action");

/// Creates every audit table (so readers of a new store find them).
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(ENTRIES)?;
    txn.open_table(NODES)?;
    txn.open_table(BY_TENANT)?;
    txn.open_table(BY_ACTOR)?;
    txn.open_table(BY_ACTION)?;
    Ok(())
}

/// What the writer keeps in memory about the log: its size and Merkle frontier.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuditState {
    pub(crate) frontier: Frontier,
}

impl AuditState {
    pub(crate) fn load(read: &ReadTransaction) -> Result<AuditState> {
        let nodes = read.open_table(NODES)?;
        let size = stored_size(&nodes)?;
        Ok(AuditState {
            frontier: Frontier::load(&ReadNodes(&nodes), size)?,
        })
    }
}

/// The log's size: the number of level-0 nodes.
pub(crate) fn stored_size(nodes: &impl ReadableTable<(u8, u64), Hash>) -> Result<u64> {
    let last = nodes.range((0u8, 0u64)..=(0u8, u64::MAX))?.next_back();
    Ok(match last {
        Some(r) => r?.0.value().1 + 1,
        None => 0,
    })
}

/// Stored nodes read through a table.
pub(crate) struct ReadNodes<'t, T>(pub(crate) &'t T);

impl<T: ReadableTable<(u8, u64), Hash>> NodeSource for ReadNodes<'_, T> {
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        self.0
            .get((level, index))?
            .map(|g| g.value())
            .ok_or_else(|| Error::Corrupted(format!("Merkle node ({level}, {index}) is missing")))
    }
}

/// The audit tables opened inside one write transaction.
pub(crate) struct AuditTables<'t> {
    entries: Table<'t, u64, &'static [u8]>,
    nodes: Table<'t, (u8, u64), Hash>,
    by_tenant: Table<'t, (&'static str, u64, u64), ()>,
    by_actor: Table<'t, (&'static str, &'static str, u64, u64), ()>,
    by_action: Table<'t, (&'static str, &'static str, u64, u64), ()>,
}

impl<'t> AuditTables<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction) -> Result<Self> {
        Ok(Self {
            entries: txn.open_table(ENTRIES)?,
            nodes: txn.open_table(NODES)?,
            by_tenant: txn.open_table(BY_TENANT)?,
            by_actor: txn.open_table(BY_ACTOR)?,
            by_action: txn.open_table(BY_ACTION)?,
        })
    }

    /// Appends one validated event as the next seq.
    pub(crate) fn append(
        &mut self,
        state: &mut AuditState,
        event: &AuditEvent,
        time: Timestamp,
    ) -> Result<AuditReceipt> {
        let seq = state.frontier.size;
        let record = RecordV1Ref::from_event(event, seq, time).encode()?;
        let leaf = leaf_hash(&record);
        self.entries.insert(seq, record.as_slice())?;
        let nodes = &mut self.nodes;
        state.frontier.push(leaf, |level, index, h| {
            nodes.insert((level, index), h)?;
            Ok(())
        })?;
        self.by_tenant
            .insert((event.tenant.as_str(), time, seq), ())?;
        self.by_actor
            .insert((event.tenant.as_str(), event.actor.as_str(), time, seq), ())?;
        self.by_action.insert(
            (event.tenant.as_str(), event.action.as_str(), time, seq),
            (),
        )?;
        Ok(AuditReceipt {
            seq,
            time,
            leaf_hash: leaf,
        })
    }
}

/// The entries and nodes tables opened for reading.
pub(crate) struct ReadTables {
    pub(crate) entries: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) nodes: ReadOnlyTable<(u8, u64), Hash>,
}

impl ReadTables {
    pub(crate) fn open(read: &ReadTransaction) -> Result<Self> {
        Ok(Self {
            entries: read.open_table(ENTRIES)?,
            nodes: read.open_table(NODES)?,
        })
    }

    pub(crate) fn size(&self) -> Result<u64> {
        stored_size(&self.nodes)
    }

    pub(crate) fn node_source(&self) -> ReadNodes<'_, ReadOnlyTable<(u8, u64), Hash>> {
        ReadNodes(&self.nodes)
    }
}
