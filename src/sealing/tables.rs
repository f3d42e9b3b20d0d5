//! The sealing tables. Only this module and `mod.rs` write them.
//!
//! Tables (prefix `sealing.`), all kept across restores (a restore point must never bring
//! a shredded key back) and backed up (a restored store reads what its source could):
//! - `KEYS`: key id -> key record: status and a key check value. Never the key.
//! - `META`: "primary" -> the primary key's id.
//! - `SUBJECTS`: subject -> its data key, wrapped by a key of `KEYS`, and its generation;
//!   a shredded subject keeps its row with no wrapped key (a tombstone), so its fields
//!   read as shredded and a later seal starts the next generation.
//! - `BY_KEK`: (key id, subject) -> () for every live subject: what a rotation re-wraps
//!   and what destroying a key would make unreadable.
//!
//! Invariants:
//! - A live subject (wrapped key not empty) has exactly one `BY_KEK` row, under the key
//!   that wraps it; a tombstone has none.
//! - Generations only grow; the primary key is enabled.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::codec;
use crate::engine::catalog::{CatalogTable, Flags, Table};
use crate::error::Result;

pub(crate) const KEYS: TableDefinition<u32, &[u8]> = TableDefinition::new("sealing.keys");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("sealing.meta");
pub(crate) const SUBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("sealing.subjects");
pub(crate) const BY_KEK: TableDefinition<(u32, &str), ()> = TableDefinition::new("sealing.by_kek");
pub(crate) const PRIMARY: &str = "primary";

pub(crate) static TABLES: [&dyn CatalogTable; 4] = [
    &Table::new(33, KEYS, Flags::KEPT),
    &Table::new(34, META, Flags::KEPT),
    &Table::new(35, SUBJECTS, Flags::KEPT),
    &Table::new(36, BY_KEK, Flags::KEPT),
];

/// A key's record (version 1). Never change it: add a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    /// `KeyStatus` as u8.
    pub(crate) status: u8,
    /// A keyed hash telling the right key bytes from others (`keys::check_value`).
    pub(crate) kcv: [u8; 16],
    pub(crate) added_at: Timestamp,
}

/// A subject's record (version 1). Never change it: add a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SubjectRecord {
    pub(crate) generation: u32,
    pub(crate) kek_id: u32,
    /// Nonce, wrapped data key and tag; empty once shredded.
    pub(crate) wrapped: Vec<u8>,
    pub(crate) created_at: Timestamp,
    /// 0 while live.
    pub(crate) shredded_at: Timestamp,
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    codec::encode(v)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T> {
    codec::decode(b)
}

/// Every key record and the primary, read at open.
pub(crate) fn read_keys(
    read: &redb::ReadTransaction,
) -> Result<(std::collections::BTreeMap<u32, KeyRecord>, Option<u32>)> {
    let mut keys = std::collections::BTreeMap::new();
    match read.open_table(KEYS) {
        Ok(t) => {
            for row in t.range::<u32>(..)? {
                let (k, v) = row?;
                keys.insert(k.value(), decode(v.value())?);
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let primary = match read.open_table(META) {
        Ok(t) => t.get(PRIMARY)?.map(|g| g.value() as u32),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok((keys, primary))
}

/// The subject's record as committed.
pub(crate) fn read_subject(
    read: &redb::ReadTransaction,
    subject: &str,
) -> Result<Option<SubjectRecord>> {
    match read.open_table(SUBJECTS) {
        Ok(t) => t.get(subject)?.map(|g| decode(g.value())).transpose(),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Live subjects under each key id, as committed.
pub(crate) fn count_by_kek(read: &redb::ReadTransaction, id: u32) -> Result<u64> {
    match read.open_table(BY_KEK) {
        Ok(t) => {
            let mut n = 0;
            for row in t.range((id, "")..)? {
                if row?.0.value().0 != id {
                    break;
                }
                n += 1;
            }
            Ok(n)
        }
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Whether a live subject is wrapped by key `id`, as committed.
pub(crate) fn any_by_kek(read: &redb::ReadTransaction, id: u32) -> Result<bool> {
    match read.open_table(BY_KEK) {
        Ok(t) => Ok(match t.range((id, "")..)?.next() {
            Some(row) => row?.0.value().0 == id,
            None => false,
        }),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
