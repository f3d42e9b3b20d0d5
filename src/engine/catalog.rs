//! The catalog: every table a batch may write, declared once by the area that owns it.
//!
//! An area declares each table as a [`Table`] (its id, its redb definition and its
//! [`Flags`]) and lists them in its `TABLES`; the registry joins the lists. The redo
//! log, backups, restore points, exports and the fuzzing digests iterate the catalog
//! instead of keeping lists of their own, and reach a table's rows through
//! [`CatalogTable`] without knowing its key and value types.
//!
//! Invariants:
//! - An id names one table for ever: redo records, backup frames and restore-point
//!   images carry it. Ids are never reused or renumbered; a new table takes a new id.
//!   (`tests` below checks that ids and names are unique.)
//! - A digested table holds mutable state: a restore point rolls it back, its rows are
//!   in the state digest, and changing it keeps an old value while a point lives. A table
//!   that is not digested is carried across a restore untouched.

use redb::{Key, ReadTransaction, ReadableTable, TableDefinition, TableHandle, Value};
use redb::{ReadableTableMetadata, WriteTransaction};

use crate::error::{Error, Result};
use crate::redo::{RedoBuf, RowFn, RowOps, Tracked};

/// How a table takes part in whole-store operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags {
    /// Copied into backups (and so into a store restored from one).
    pub(crate) backed_up: bool,
    /// Copied whole into every backup, incremental ones too (it is written outside
    /// batches, so the change journal does not list its changes).
    pub(crate) whole: bool,
    /// Mutable state: rolled back by a restore point, in the state digest.
    pub(crate) digested: bool,
    /// Copied into a restore point's export.
    pub(crate) exported: bool,
}

impl Flags {
    /// Backed up and exported, carried across restores (append-only logs, counters).
    pub(crate) const KEPT: Flags = Flags {
        backed_up: true,
        whole: false,
        digested: false,
        exported: true,
    };
    /// Backed up, exported, and rolled back by restore points.
    pub(crate) const MUTABLE: Flags = Flags {
        digested: true,
        ..Flags::KEPT
    };
    /// The engine's and the areas' own bookkeeping: in no backup or export.
    pub(crate) const INTERNAL: Flags = Flags {
        backed_up: false,
        whole: false,
        digested: false,
        exported: false,
    };
}

/// A cataloged table, reached without its key and value types.
pub(crate) trait CatalogTable: Sync {
    fn id(&self) -> u16;
    fn name(&self) -> &str;
    fn flags(&self) -> Flags;
    /// Creates the table if it does not exist.
    fn create(&self, txn: &WriteTransaction) -> Result<()>;
    /// Applies row changes (`None`: delete), outside the redo log.
    fn apply_rows(&self, txn: &WriteTransaction, rows: &RowOps) -> Result<()>;
    /// Applies row changes through the write path (redo, digest, journal see them).
    fn apply_rows_tracked(
        &self,
        txn: &WriteTransaction,
        redo: &RedoBuf,
        rows: &RowOps,
    ) -> Result<()>;
    /// One row's value bytes, as `read` sees it.
    fn get_row(&self, read: &ReadTransaction, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Every row, in key order, as `read` sees it.
    fn for_each_row(&self, read: &ReadTransaction, f: &mut RowFn<'_>) -> Result<()>;
    /// Every row, in key order, as the write transaction `txn` sees it.
    fn for_each_row_in(&self, txn: &WriteTransaction, f: &mut RowFn<'_>) -> Result<()>;
    /// The bytes its rows hold (redb's count).
    fn stored_bytes(&self, read: &ReadTransaction) -> Result<u64>;
    /// Copies every row, as `src` sees it, into the same table of another store's `dst`;
    /// returns the rows copied.
    fn copy_to(&self, src: &ReadTransaction, dst: &WriteTransaction) -> Result<u64>;
}

/// A table's catalog entry: its id, definition and flags.
pub(crate) struct Table<K: Key + 'static, V: Value + 'static> {
    pub(crate) id: u16,
    pub(crate) def: TableDefinition<'static, K, V>,
    pub(crate) flags: Flags,
}

impl<K: Key + 'static, V: Value + 'static> Table<K, V> {
    pub(crate) const fn new(id: u16, def: TableDefinition<'static, K, V>, flags: Flags) -> Self {
        Self { id, def, flags }
    }
}

fn rows_of<K: Key + 'static, V: Value + 'static>(
    t: &impl ReadableTable<K, V>,
    f: &mut RowFn<'_>,
) -> Result<()> {
    for row in t.range::<K::SelfType<'_>>(..)? {
        let (k, v) = row?;
        f(
            K::as_bytes(&k.value()).as_ref(),
            V::as_bytes(&v.value()).as_ref(),
        )?;
    }
    Ok(())
}

/// Calls `f` with each row change decoded as `K` and `V` (`None`: delete).
fn apply_each<K: Key + 'static, V: Value + 'static>(
    rows: &RowOps,
    mut f: impl FnMut(K::SelfType<'_>, Option<V::SelfType<'_>>) -> Result<()>,
) -> Result<()> {
    for (k, v) in rows {
        f(K::from_bytes(k), v.as_deref().map(V::from_bytes))?;
    }
    Ok(())
}

impl<K: Key + 'static, V: Value + 'static> CatalogTable for Table<K, V>
where
    Table<K, V>: Sync,
{
    fn id(&self) -> u16 {
        self.id
    }

    fn name(&self) -> &str {
        self.def.name()
    }

    fn flags(&self) -> Flags {
        self.flags
    }

    fn create(&self, txn: &WriteTransaction) -> Result<()> {
        txn.open_table(self.def)?;
        Ok(())
    }

    fn apply_rows(&self, txn: &WriteTransaction, rows: &RowOps) -> Result<()> {
        let mut t = txn.open_table(self.def)?;
        apply_each::<K, V>(rows, |k, v| {
            match v {
                Some(v) => drop(t.insert(k, v)?),
                None => drop(t.remove(k)?),
            }
            Ok(())
        })
    }

    fn apply_rows_tracked(
        &self,
        txn: &WriteTransaction,
        redo: &RedoBuf,
        rows: &RowOps,
    ) -> Result<()> {
        let mut t = Tracked::open(txn, self.def, redo)?;
        apply_each::<K, V>(rows, |k, v| {
            match v {
                Some(v) => drop(t.insert(k, v)?),
                None => drop(t.remove(k)?),
            }
            Ok(())
        })
    }

    fn get_row(&self, read: &ReadTransaction, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let t = read.open_table(self.def)?;
        let v = t.get(K::from_bytes(key))?;
        Ok(v.map(|v| V::as_bytes(&v.value()).as_ref().to_vec()))
    }

    fn for_each_row(&self, read: &ReadTransaction, f: &mut RowFn<'_>) -> Result<()> {
        rows_of(&read.open_table(self.def)?, f)
    }

    fn for_each_row_in(&self, txn: &WriteTransaction, f: &mut RowFn<'_>) -> Result<()> {
        rows_of(&txn.open_table(self.def)?, f)
    }

    fn stored_bytes(&self, read: &ReadTransaction) -> Result<u64> {
        Ok(read.open_table(self.def)?.stats()?.stored_bytes())
    }

    fn copy_to(&self, src: &ReadTransaction, dst: &WriteTransaction) -> Result<u64> {
        let from = src.open_table(self.def)?;
        let mut to = dst.open_table(self.def)?;
        let mut n = 0;
        for row in from.range::<K::SelfType<'_>>(..)? {
            let (k, v) = row?;
            to.insert(k.value(), v.value())?;
            n += 1;
        }
        Ok(n)
    }
}

/// The core's own cataloged tables.
static CORE: [&dyn CatalogTable; 1] = [&crate::settings::TABLE];

/// Every cataloged table: the core's, then each area's (the registry's).
pub(crate) fn all() -> impl Iterator<Item = &'static dyn CatalogTable> {
    CORE.iter().copied().chain(
        crate::engine::registry::get()
            .tables
            .iter()
            .flat_map(|area| area.iter().copied()),
    )
}

/// The table with id `id`.
pub(crate) fn table(id: u16) -> Result<&'static dyn CatalogTable> {
    all()
        .find(|t| t.id() == id)
        .ok_or_else(|| Error::Corrupted(format!("no table has id {id}")))
}

/// The id and flags of the table named `name`. Every table a write opens is looked up
/// here, so the catalog is indexed by name once (a sorted list, searched by halves).
pub(crate) fn by_name(name: &str) -> Result<(u16, Flags)> {
    static INDEX: std::sync::OnceLock<Vec<(String, u16, Flags)>> = std::sync::OnceLock::new();
    let index = match INDEX.get() {
        Some(index) => index,
        // Built only from an installed registry: an empty one is not cached.
        None if all().next().is_some() => INDEX.get_or_init(|| {
            let mut v: Vec<_> = all()
                .map(|t| (t.name().to_string(), t.id(), t.flags()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        }),
        None => &Vec::new(),
    };
    index
        .binary_search_by(|(n, ..)| n.as_str().cmp(name))
        .map(|at| (index[at].1, index[at].2))
        .map_err(|_| Error::Storage(format!("table {name} is not in the catalog")))
}

/// Whether the table with id `id` exists and has flags `f` accepts.
pub(crate) fn is(id: u16, f: impl Fn(Flags) -> bool) -> bool {
    all().any(|t| t.id() == id && f(t.flags()))
}

/// The tables whose flags `f` accepts, in id order.
pub(crate) fn with(f: impl Fn(Flags) -> bool) -> impl Iterator<Item = &'static dyn CatalogTable> {
    let mut v: Vec<_> = all().filter(|t| f(t.flags())).collect();
    v.sort_by_key(|t| t.id());
    v.into_iter()
}

/// Row `key` of table `id`, as `read` sees it.
pub(crate) fn get_row(read: &ReadTransaction, id: u16, key: &[u8]) -> Result<Option<Vec<u8>>> {
    table(id)?.get_row(read, key)
}

/// Every row of table `id`, in key order, as `read` sees it.
pub(crate) fn for_each_row(read: &ReadTransaction, id: u16, f: &mut RowFn<'_>) -> Result<()> {
    table(id)?.for_each_row(read, f)
}

/// Every row of table `id`, in key order, as the write transaction `txn` sees it.
pub(crate) fn for_each_row_in(txn: &WriteTransaction, id: u16, f: &mut RowFn<'_>) -> Result<()> {
    table(id)?.for_each_row_in(txn, f)
}

/// Applies row changes to table `id`, outside the redo log.
pub(crate) fn apply_rows(txn: &WriteTransaction, id: u16, rows: &RowOps) -> Result<()> {
    table(id)?.apply_rows(txn, rows)
}

/// Applies row changes to table `id` through the write path.
pub(crate) fn apply_rows_tracked(
    txn: &WriteTransaction,
    redo: &RedoBuf,
    id: u16,
    rows: &RowOps,
) -> Result<()> {
    table(id)?.apply_rows_tracked(txn, redo, rows)
}

/// Creates every cataloged table that does not exist yet.
pub(crate) fn create_all(txn: &WriteTransaction) -> Result<()> {
    for t in all() {
        t.create(txn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_the_format_2_ids_kept() {
        crate::areas::install();
        let mut ids: Vec<u16> = all().map(|t| t.id()).collect();
        let mut names: Vec<&str> = all().map(|t| t.name()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        names.sort_unstable();
        names.dedup();
        assert_eq!((ids.len(), names.len()), (n, n));
        // Redo logs and backups written by format 2 name tables by these ids.
        let format2 = [
            "audit.entries",
            "audit.nodes",
            "audit.by_tenant",
            "logs.chunks",
            "logs.meta",
            "idem.keys",
            "idem.expiry",
            "app.kv",
            "dlq.items",
            "dlq.payloads",
            "dlq.due",
            "dlq.finished",
            "dlq.by_state",
            "dlq.counts",
            "dlq.meta",
            "idem.meta",
            "backup.changes",
            "backup.catalog",
            "backup.meta",
            "restore.state",
        ];
        for (id, name) in format2.iter().enumerate() {
            assert_eq!(table(id as u16).unwrap().name(), *name);
        }
        // Format 2 backed up exactly ids 0..16.
        for id in 0..16u16 {
            assert!(is(id, |f| f.backed_up), "id {id}");
        }
        for id in 16..20u16 {
            assert!(!is(id, |f| f.backed_up), "id {id}");
        }
    }
}
