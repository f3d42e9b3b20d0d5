//! The persisted side of idempotency keys: completed and failed keys with their cached
//! responses, and in-progress keys whose holder saved a recovery point.
//!
//! Invariants:
//! - Every row of `KEYS` has exactly one row `(expires, tenant, key)` in `EXPIRY`.
//! - A row is only written by the current holder of the key (checked against the
//!   in-memory flights before the write), or removed once expired.

use crate::engine::catalog::{CatalogTable, Flags, Table};
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::codec;
use crate::error::{Error, Result};
use crate::redo::{RedoBuf, Tracked};

/// (tenant, key) -> record.
pub(crate) const KEYS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("idem.keys");
/// (expires, tenant, key), for purging in expiry order.
pub(crate) const EXPIRY: TableDefinition<(u64, &str, &str), ()> =
    TableDefinition::new("idem.expiry");
/// Counters: `EPOCH`, bumped at every open.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("idem.meta");

/// The idempotency tables in the catalog. The epoch (`META`) only grows and is written at
/// every open, outside any batch: backups copy it whole.
pub(crate) static TABLES: [&dyn CatalogTable; 3] = [
    &Table::new(5, KEYS, Flags::MUTABLE),
    &Table::new(6, EXPIRY, Flags::MUTABLE),
    &Table::new(
        15,
        META,
        Flags {
            whole: true,
            ..Flags::KEPT
        },
    ),
];
const EPOCH: &str = "epoch";

pub(crate) const IN_PROGRESS: u8 = 0;
pub(crate) const COMPLETED: u8 = 1;
pub(crate) const FAILED: u8 = 2;

/// Starts a new open of the store: returns an epoch greater than every earlier one.
/// Fencing numbers are `epoch << 32 | n`, so no two opens ever hand out the same one,
/// though the counter `n` lives in memory only.
pub(crate) fn bump_epoch(txn: &WriteTransaction) -> Result<u64> {
    let mut meta = txn.open_table(META)?;
    let last = meta.get(EPOCH)?.map_or(0, |v| v.value());
    let next = last
        .checked_add(1)
        .filter(|e| *e < 1 << 31)
        .ok_or_else(|| Error::Corrupted("idempotency epochs ran out".into()))?;
    meta.insert(EPOCH, next)?;
    Ok(next)
}

/// The epoch the last open set (0 before any).
pub(crate) fn current_epoch(read: &redb::ReadTransaction) -> Result<u64> {
    Ok(read.open_table(META)?.get(EPOCH)?.map_or(0, |v| v.value()))
}

/// The stored record (record version 1). Never change it: add a version instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRecordV1 {
    pub(crate) fingerprint: [u8; 32],
    pub(crate) state: u8,
    pub(crate) fence: u64,
    pub(crate) lease_until: u64,
    pub(crate) created: u64,
    pub(crate) expires: u64,
    pub(crate) status: Option<u16>,
    #[serde(with = "codec::bytes")]
    pub(crate) body: Vec<u8>,
    pub(crate) recovery: Option<(String, Vec<u8>)>,
}

/// The record of (tenant, key) in a read snapshot, unless absent or expired at `now`.
pub(crate) fn load_live(
    keys: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    tenant: &str,
    key: &str,
    now: Timestamp,
) -> Result<Option<KeyRecordV1>> {
    let Some(v) = keys.get((tenant, key))? else {
        return Ok(None);
    };
    let rec: KeyRecordV1 = codec::decode(v.value())?;
    Ok((now < rec.expires).then_some(rec))
}

/// The idempotency tables inside one write transaction.
pub(crate) struct IdemTables<'t> {
    keys: Tracked<'t, (&'static str, &'static str), &'static [u8]>,
    expiry: Tracked<'t, (u64, &'static str, &'static str), ()>,
}

impl<'t> IdemTables<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction, redo: &'t RedoBuf) -> Result<Self> {
        Ok(Self {
            keys: Tracked::open(txn, KEYS, redo)?,
            expiry: Tracked::open(txn, EXPIRY, redo)?,
        })
    }

    /// The record of (tenant, key), seeing this transaction's writes; `None` if absent
    /// or expired at `now`.
    pub(crate) fn load_live(
        &self,
        tenant: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<KeyRecordV1>> {
        Ok(self.load(tenant, key)?.filter(|r| now < r.expires))
    }

    fn load(&self, tenant: &str, key: &str) -> Result<Option<KeyRecordV1>> {
        match self.keys.get((tenant, key))? {
            Some(v) => Ok(Some(codec::decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Writes the record, keeping the expiry index in step with it.
    pub(crate) fn put(&mut self, tenant: &str, key: &str, rec: &KeyRecordV1) -> Result<()> {
        let old = match self
            .keys
            .insert((tenant, key), codec::encode(rec)?.as_slice())?
        {
            Some(v) => Some(codec::decode::<KeyRecordV1>(v.value())?.expires),
            None => None,
        };
        match old {
            Some(e) if e == rec.expires => {}
            Some(e) => {
                self.expiry.remove((e, tenant, key))?;
                self.expiry.insert((rec.expires, tenant, key), ())?;
            }
            None => {
                self.expiry.insert((rec.expires, tenant, key), ())?;
            }
        }
        Ok(())
    }

    /// Removes the record of (tenant, key), if any.
    pub(crate) fn remove(&mut self, tenant: &str, key: &str) -> Result<()> {
        let old = match self.keys.remove((tenant, key))? {
            Some(v) => Some(codec::decode::<KeyRecordV1>(v.value())?.expires),
            None => None,
        };
        if let Some(e) = old {
            self.expiry.remove((e, tenant, key))?;
        }
        Ok(())
    }

    /// Deletes up to `limit` records whose expiry is at or before `now`, oldest expiry
    /// first; returns how many, and the earliest expiry left: exact when the scan ended on
    /// a later expiry (or `u64::MAX` at the end of the table), `now` when the limit
    /// stopped it (more may be due).
    pub(crate) fn purge(&mut self, now: Timestamp, limit: usize) -> Result<(usize, Timestamp)> {
        let mut due: Vec<(u64, String, String)> = Vec::new();
        let mut earliest_left = u64::MAX;
        for row in self.expiry.range::<(u64, &str, &str)>(..)? {
            let (k, _) = row?;
            let (exp, t, k) = k.value();
            if exp > now {
                earliest_left = exp;
                break;
            }
            if due.len() >= limit {
                earliest_left = now;
                break;
            }
            due.push((exp, t.to_owned(), k.to_owned()));
        }
        for (exp, t, k) in &due {
            self.expiry.remove((*exp, t.as_str(), k.as_str()))?;
            self.keys.remove((t.as_str(), k.as_str()))?;
        }
        Ok((due.len(), earliest_left))
    }
}
