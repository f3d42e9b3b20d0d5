//! App state: a namespaced key/value table for the application's own records, written
//! in the same transactions as audit entries and idempotency keys.
//!
//! Limits: namespace 1..=64 bytes, key 1..=1024 bytes, value at most 1 MiB.

use crate::engine::catalog::{CatalogTable, Flags, Table};
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use crate::error::{Error, Result};
use crate::redo::{RedoBuf, Tracked};

/// (namespace, key) -> value.
pub(crate) const KV: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("app.kv");

/// App state in the catalog: mutable, rolled back by restore points.
pub(crate) static TABLES: [&dyn CatalogTable; 1] = [&Table::new(7, KV, Flags::MUTABLE)];

/// Longest namespace, in bytes.
pub const MAX_NAMESPACE: usize = 64;
/// Longest key, in bytes.
pub const MAX_KEY: usize = 1024;
/// Longest value, in bytes.
pub const MAX_VALUE: usize = 1 << 20;

pub(crate) fn check(ns: &str, key: &[u8], value: Option<&[u8]>) -> Result<()> {
    if ns.is_empty() || key.is_empty() {
        return Err(Error::InvalidArgument(
            "namespace and key must not be empty".into(),
        ));
    }
    for (field, len, max) in [
        ("namespace", ns.len(), MAX_NAMESPACE),
        ("key", key.len(), MAX_KEY),
        ("value", value.map_or(0, <[u8]>::len), MAX_VALUE),
    ] {
        if len > max {
            return Err(Error::TooLong { field, len, max });
        }
    }
    Ok(())
}

/// The app-state table inside one write transaction.
pub(crate) struct KvTable<'t>(Tracked<'t, (&'static str, &'static [u8]), &'static [u8]>);

impl<'t> KvTable<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction, redo: &'t RedoBuf) -> Result<Self> {
        Ok(Self(Tracked::open(txn, KV, redo)?))
    }

    pub(crate) fn get(&self, ns: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check(ns, key, None)?;
        Ok(self.0.get((ns, key))?.map(|v| v.value().to_vec()))
    }

    pub(crate) fn put(&mut self, ns: &str, key: &[u8], value: &[u8]) -> Result<()> {
        check(ns, key, Some(value))?;
        self.0.insert((ns, key), value)?;
        Ok(())
    }

    pub(crate) fn delete(&mut self, ns: &str, key: &[u8]) -> Result<bool> {
        check(ns, key, None)?;
        Ok(self.0.remove((ns, key))?.is_some())
    }
}

/// Reads a value outside any write.
pub(crate) fn get(read: &ReadTransaction, ns: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
    check(ns, key, None)?;
    let t = read.open_table(KV)?;
    let v = t.get((ns, key))?.map(|v| v.value().to_vec());
    Ok(v)
}

impl crate::Store {
    /// Reads app state `(namespace, key)` (written through [`Store::write`](crate::Store::write)).
    pub fn kv_get(&self, namespace: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get(&self.begin_read()?, namespace, key)
    }

    /// Writes app state `(namespace, key) = value` on its own; to write it together with
    /// other areas, use [`WriteTx::kv_put`](crate::WriteTx::kv_put) inside
    /// [`Store::write`](crate::Store::write).
    pub fn kv_put(
        &self,
        namespace: &str,
        key: &[u8],
        value: &[u8],
        durability: crate::Durability,
    ) -> Result<()> {
        crate::metrics::count(
            self,
            "kv",
            "put",
            (|| {
                check(namespace, key, Some(value))?;
                let (ns, k, v) = (namespace.to_owned(), key.to_vec(), value.to_vec());
                self.write(durability, move |tx| tx.kv_put(&ns, &k, &v))
            })(),
        )
    }

    /// Deletes app state `(namespace, key)` on its own; returns whether it existed.
    pub fn kv_delete(
        &self,
        namespace: &str,
        key: &[u8],
        durability: crate::Durability,
    ) -> Result<bool> {
        crate::metrics::count(
            self,
            "kv",
            "delete",
            (|| {
                check(namespace, key, None)?;
                let (ns, k) = (namespace.to_owned(), key.to_vec());
                self.write(durability, move |tx| tx.kv_delete(&ns, &k))
            })(),
        )
    }
}

/// The app-state table a transaction opened.
struct KvPart;

impl crate::engine::area::Family for KvPart {
    type Of<'a> = KvTable<'a>;
}

impl<'a> crate::WriteTx<'a> {
    fn kv(&mut self) -> Result<&mut KvTable<'a>> {
        self.part::<KvPart>(KvTable::open)
    }

    /// Reads app state `(namespace, key)`, seeing this transaction's own writes.
    pub fn kv_get(&mut self, namespace: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.kv()?.get(namespace, key)
    }

    /// Writes app state `(namespace, key) = value` (namespace 1..=64 bytes, key
    /// 1..=1024 bytes, value at most 1 MiB).
    pub fn kv_put(&mut self, namespace: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.kv()?.put(namespace, key, value)
    }

    /// Deletes app state `(namespace, key)`; returns whether it existed.
    pub fn kv_delete(&mut self, namespace: &str, key: &[u8]) -> Result<bool> {
        self.kv()?.delete(namespace, key)
    }
}
