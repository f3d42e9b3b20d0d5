//! The rate-limit tables. Only this module writes them.
//!
//! Tables (prefix `rate_limits.`):
//! - `LIMITS`: (tenant, name) -> limit record (`codec` version byte + postcard
//!   [`StoredLimit`]): the limits the store enforces, a setting each, audited.
//! - `STATE`: (tenant, name, key) -> TAT in nanoseconds: the durable snapshot of the
//!   keys in memory, written by flushes (every flush interval, and at close).
//!
//! Both are kept across restores (a restore point must not hand every key a fresh
//! allowance) and backed up.
//!
//! Invariants:
//! - A `STATE` row's (tenant, name) has a `LIMITS` row: removing a limit deletes its
//!   keys' rows in the same transaction.
//! - A row's TAT is the key's TAT as of some flush; a key in memory changed since is
//!   `dirty` (see `keys.rs`), so the rows lag memory by at most one flush.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::engine::catalog::{CatalogTable, Flags, Table};
use crate::error::Result;

pub(crate) const LIMITS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("rate_limits.limits");
/// (tenant, name, key) -> TAT (ns since the epoch)
pub(crate) const STATE: TableDefinition<(&str, &str, &[u8]), u64> =
    TableDefinition::new("rate_limits.state");

pub(crate) static TABLES: [&dyn CatalogTable; 2] = [
    &Table::new(30, LIMITS, Flags::KEPT),
    &Table::new(31, STATE, Flags::KEPT),
];

/// A limit as stored in `LIMITS` (record version 1). Never change it: add a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredLimit {
    pub(crate) count: u64,
    pub(crate) period_ns: u64,
    pub(crate) burst: u64,
}

pub(crate) fn encode(l: &StoredLimit) -> Result<Vec<u8>> {
    codec::encode(l)
}

pub(crate) fn decode(b: &[u8]) -> Result<StoredLimit> {
    codec::decode(b)
}

/// Every stored limit, in (tenant, name) order.
pub(crate) fn read_limits(
    read: &redb::ReadTransaction,
) -> Result<Vec<(String, String, StoredLimit)>> {
    let t = match read.open_table(LIMITS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for row in t.range::<(&str, &str)>(..)? {
        let (k, v) = row?;
        let (tenant, name) = k.value();
        out.push((tenant.to_owned(), name.to_owned(), decode(v.value())?));
    }
    Ok(out)
}

/// Every stored key: (tenant, name, key, TAT).
pub(crate) fn read_state(
    read: &redb::ReadTransaction,
    mut f: impl FnMut(&str, &str, &[u8], u64),
) -> Result<()> {
    let t = match read.open_table(STATE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for row in t.range::<(&str, &str, &[u8])>(..)? {
        let (k, v) = row?;
        let (tenant, name, key) = k.value();
        f(tenant, name, key, v.value());
    }
    Ok(())
}
