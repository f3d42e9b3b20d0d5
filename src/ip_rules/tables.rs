//! The IP rule table. Only this module writes it.
//!
//! `ip_rules.rules`: (scope, network) -> rule record (`codec` version byte + postcard
//! [`StoredRule`]). The scope is the tenant, or "" for global rules; the network is
//! `Cidr::to_bytes` (family, length, address). Kept across restores (a restore point
//! must not lift a ban) and backed up.
//!
//! Invariant: the in-memory scopes (`Shared`) hold exactly these rows once every
//! committed transaction's after-hook ran.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use super::Cidr;
use crate::clock::Timestamp;
use crate::codec;
use crate::engine::catalog::{CatalogTable, Flags, Table};
use crate::error::Result;
use crate::WriteTx;

pub(crate) const RULES: TableDefinition<(&str, &[u8]), &[u8]> =
    TableDefinition::new("ip_rules.rules");

pub(crate) static TABLES: [&dyn CatalogTable; 1] = [&Table::new(32, RULES, Flags::KEPT)];

/// A rule as stored (record version 1). Never change it: add a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredRule {
    /// `IpAction` as u8.
    pub(crate) action: u8,
    /// 0: never.
    pub(crate) expires_at: Timestamp,
    pub(crate) reason: String,
    pub(crate) updated_at: Timestamp,
}

pub(crate) fn put(
    tx: &mut WriteTx<'_>,
    scope: &str,
    cidr: Cidr,
    r: &StoredRule,
) -> Result<Option<StoredRule>> {
    let key = cidr.to_bytes();
    let rec = codec::encode(r)?;
    let mut t = tx.tracked(RULES)?;
    let old = t.insert((scope, key.as_slice()), rec.as_slice())?;
    old.map(|g| codec::decode(g.value())).transpose()
}

pub(crate) fn remove(tx: &mut WriteTx<'_>, scope: &str, cidr: Cidr) -> Result<Option<StoredRule>> {
    let key = cidr.to_bytes();
    let mut t = tx.tracked(RULES)?;
    let old = t.remove((scope, key.as_slice()))?;
    old.map(|g| codec::decode(g.value())).transpose()
}

pub(crate) fn get(tx: &mut WriteTx<'_>, scope: &str, cidr: Cidr) -> Result<Option<StoredRule>> {
    use redb::ReadableTable;
    let key = cidr.to_bytes();
    let t = tx.tracked(RULES)?;
    let v = t.get((scope, key.as_slice()))?;
    v.map(|g| codec::decode(g.value())).transpose()
}

/// Every stored rule, in key order.
pub(crate) fn read_all(
    read: &redb::ReadTransaction,
    mut f: impl FnMut(&str, Cidr, StoredRule),
) -> Result<()> {
    let t = match read.open_table(RULES) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for row in t.range::<(&str, &[u8])>(..)? {
        let (k, v) = row?;
        let (scope, key) = k.value();
        let rule: StoredRule = codec::decode(v.value())?;
        f(scope, Cidr::from_bytes(key)?, rule);
    }
    Ok(())
}
