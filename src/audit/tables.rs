//! The audit log's redb tables and its append path. Only this module writes them.
//!
//! Invariants (checked by `verify`):
//! - `ENTRIES` holds seq -> record for every seq in `0..size`, no other keys;
//!   the record's own seq equals its key.
//! - `NODES` holds node `(level, index)` under the key `(last leaf, level)` (packed in a
//!   u64, see [`node_key`]) for every
//!   perfect subtree of the first `size` leaves; level 0 is `leaf_hash(record)`. Keyed so,
//!   every node an append completes has the new leaf as its last leaf: appends only ever
//!   touch the table's tail, and a scan meets nodes in the order appends made them.
//!   `size` is the last key's leaf + 1.
//! - `BY_TENANT` holds `(tenant, time, seq) -> (actor, action)`, one row per entry:
//!   queries filter on actor and action without reading the entries.
//! - `RETENTION`: "pruned_below" -> every entry below this seq was pruned (see
//!   `retention.rs`).
//! - `PARAMS`: "hash" -> the tree's [`AuditHash`] code, written when the store is created
//!   and never changed (a store made before the row existed is BLAKE3). Backed up, so a
//!   restored store keeps its source's hash.
//! - Nothing here is ever deleted. The one update is retention's, asked for with its
//!   count: an entry below the pruned bound is replaced by its tombstone (seq, time,
//!   tenant, action, leaf hash) and its `BY_TENANT` row loses its actor; `NODES` never
//!   changes, so the root, every proof and verify stay as they were.

use crate::engine::catalog::{CatalogTable, Flags, Table};
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use crate::audit::entry::{AuditEvent, RecordV1Ref};
use crate::audit::merkle::{AuditHash, Frontier, Hash, NodeSource};
use crate::audit::AuditReceipt;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::redo::{RedoBuf, Tracked};

pub(crate) const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("audit.entries");
/// Node key -> 32-byte hash. (`&[u8]` rather than `[u8; 32]`: redb decodes arrays
/// element by element, which made verify a sixth slower.)
pub(crate) const NODES: TableDefinition<u64, &[u8]> = TableDefinition::new("audit.nodes");
/// (tenant, time, seq) -> (actor, action)
pub(crate) const BY_TENANT: TableDefinition<(&str, u64, u64), (&str, &str)> =
    TableDefinition::new("audit.by_tenant");

/// "pruned_below" -> seq
pub(crate) const RETENTION: TableDefinition<&str, u64> = TableDefinition::new("audit.retention");
pub(crate) const PRUNED_BELOW: &str = "pruned_below";

/// "hash" -> [`AuditHash::code`]
pub(crate) const PARAMS: TableDefinition<&str, u64> = TableDefinition::new("audit.params");
const HASH_KEY: &str = "hash";

/// The audit log's tables in the catalog: append-only, never rolled back.
pub(crate) static TABLES: [&dyn CatalogTable; 5] = [
    &Table::new(0, ENTRIES, Flags::KEPT),
    &Table::new(1, NODES, Flags::KEPT),
    &Table::new(2, BY_TENANT, Flags::KEPT),
    &Table::new(42, RETENTION, Flags::KEPT),
    &Table::new(43, PARAMS, Flags::KEPT),
];

/// Writes the tree's hash of a new store (in its creating transaction).
pub(crate) fn init_hash(txn: &WriteTransaction, hash: AuditHash) -> Result<()> {
    txn.open_table(PARAMS)?
        .insert(HASH_KEY, u64::from(hash.code()))?;
    Ok(())
}

/// Writes BLAKE3's row into a store made before the row existed (at its first open by
/// a build that knows it), so every backup and export carries its hash.
pub(crate) fn fill_hash(txn: &WriteTransaction) -> Result<()> {
    let mut t = txn.open_table(PARAMS)?;
    if t.get(HASH_KEY)?.is_none() {
        t.insert(HASH_KEY, u64::from(AuditHash::Blake3.code()))?;
    }
    Ok(())
}

/// The tree's hash as stored (BLAKE3 when the row is absent: a store older than it).
pub(crate) fn stored_hash(params: &impl ReadableTable<&'static str, u64>) -> Result<AuditHash> {
    match params.get(HASH_KEY)? {
        None => Ok(AuditHash::Blake3),
        Some(v) => {
            let code = u32::try_from(v.value()).unwrap_or(u32::MAX);
            AuditHash::from_code(code)
                .map_err(|_| Error::Corrupted(format!("audit hash code {} is unknown", v.value())))
        }
    }
}

/// The tree's hash, as `read` sees it.
pub(crate) fn read_hash(read: &ReadTransaction) -> Result<AuditHash> {
    match read.open_table(PARAMS) {
        Ok(t) => stored_hash(&t),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(AuditHash::Blake3),
        Err(e) => Err(e.into()),
    }
}

/// The `NODES` key of node (`level`, `index`): its last leaf, then its level, packed as
/// `last_leaf << 6 | level` (levels are below 64; leaves below 2^58).
pub(crate) fn node_key(level: u8, index: u64) -> u64 {
    ((((index + 1) << level) - 1) << 6) | u64::from(level)
}

/// The size of the tree whose last node has key `key`.
fn size_of_last_key(key: u64) -> u64 {
    (key >> 6) + 1
}

/// A stored node's value as a hash.
pub(crate) fn node_value(bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupted(format!("a Merkle node is {} bytes, not 32", bytes.len())))
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
            frontier: Frontier::load(&ReadNodes(&nodes, read_hash(read)?), size)?,
        })
    }
}

/// The log's size: the last node's last leaf, plus one.
pub(crate) fn stored_size(nodes: &impl ReadableTable<u64, &'static [u8]>) -> Result<u64> {
    Ok(match nodes.last()? {
        Some((k, _)) => size_of_last_key(k.value()),
        None => 0,
    })
}

/// Stored nodes read through a table, with the tree's hash.
pub(crate) struct ReadNodes<'t, T>(pub(crate) &'t T, pub(crate) AuditHash);

impl<T: ReadableTable<u64, &'static [u8]>> NodeSource for ReadNodes<'_, T> {
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        match self.0.get(node_key(level, index))? {
            Some(g) => node_value(g.value()),
            None => Err(Error::Corrupted(format!(
                "Merkle node ({level}, {index}) is missing"
            ))),
        }
    }

    fn hash(&self) -> AuditHash {
        self.1
    }
}

/// The audit tables opened inside one write transaction.
pub(crate) struct AuditTables<'t> {
    entries: Tracked<'t, u64, &'static [u8]>,
    nodes: Tracked<'t, u64, &'static [u8]>,
    by_tenant: Tracked<'t, (&'static str, u64, u64), (&'static str, &'static str)>,
}

impl<'t> AuditTables<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction, redo: &'t RedoBuf) -> Result<Self> {
        Ok(Self {
            entries: Tracked::open(txn, ENTRIES, redo)?,
            nodes: Tracked::open(txn, NODES, redo)?,
            by_tenant: Tracked::open(txn, BY_TENANT, redo)?,
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
        let leaf = state.frontier.hash.leaf(&record);
        self.entries.insert(seq, record.as_slice())?;
        let nodes = &mut self.nodes;
        state.frontier.push(leaf, |level, index, h| {
            nodes.insert(node_key(level, index), h.as_slice())?;
            Ok(())
        })?;
        self.by_tenant.insert(
            (event.tenant.as_str(), time, seq),
            (event.actor.as_str(), event.action.as_str()),
        )?;
        Ok(AuditReceipt {
            seq,
            time,
            leaf_hash: leaf,
        })
    }
}

impl AuditTables<'_> {
    /// Replaces entries `lo..hi` by their tombstones (those not pruned yet) and blanks
    /// their index rows' actor; returns how many it pruned. The nodes are not touched.
    pub(crate) fn prune_range(&mut self, lo: u64, hi: u64, hash: AuditHash) -> Result<u64> {
        let mut n = 0;
        for seq in lo..hi {
            let entry = match self.entries.get(seq)? {
                Some(g) => crate::audit::AuditEntry::decode(g.value(), hash)?,
                None => return Err(Error::Corrupted(format!("audit entry {seq} is missing"))),
            };
            if entry.pruned.is_some() {
                continue;
            }
            let tomb = entry.to_pruned()?;
            self.entries.insert(seq, tomb.to_record()?.as_slice())?;
            self.by_tenant.insert(
                (entry.tenant.as_str(), entry.time, seq),
                ("", entry.action.as_str()),
            )?;
            n += 1;
        }
        Ok(n)
    }
}

/// The entries and nodes tables opened for reading.
pub(crate) struct ReadTables {
    pub(crate) entries: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) nodes: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) hash: AuditHash,
}

impl ReadTables {
    pub(crate) fn open(read: &ReadTransaction) -> Result<Self> {
        Ok(Self {
            entries: read.open_table(ENTRIES)?,
            nodes: read.open_table(NODES)?,
            hash: read_hash(read)?,
        })
    }

    pub(crate) fn size(&self) -> Result<u64> {
        stored_size(&self.nodes)
    }

    pub(crate) fn node_source(&self) -> ReadNodes<'_, ReadOnlyTable<u64, &'static [u8]>> {
        ReadNodes(&self.nodes, self.hash)
    }
}
