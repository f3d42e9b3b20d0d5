//! The alert tables and every write to them. Only this module writes them.
//!
//! Tables (prefix `alerts.`):
//! - `ITEMS`: id -> alert record (`codec` version byte + postcard [`StoredAlert`]).
//! - `OPEN`: (tenant, dedup key) -> id, for every alert not resolved: a raise finds the
//!   alert it repeats with one lookup.
//! - `BY_STATE`: (bucket, id) -> (), bucket 0 for alerts not resolved (open or
//!   acknowledged), 1 for resolved ones: lists of either walk their bucket in id order.
//! - `RESOLVED`: (resolved_at, id) -> () for every resolved alert, for purge.
//! - `META`: "next_id" -> the id the next alert gets. Ids are never reused (a restore
//!   keeps it).
//!
//! Invariants, kept by every write below:
//! - An alert not resolved has one `OPEN` row and one `BY_STATE` row in bucket 0; a
//!   resolved one has one `BY_STATE` row in bucket 1 and one `RESOLVED` row at its
//!   `resolved_at`; no other rows exist.
//! - At most one alert per (tenant, dedup key) is not resolved (the `OPEN` key).
//! - `count >= 1`; `first_seen <= last_seen`.

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::alerts::{AlertState, NewAlert, Raised, Severity};
use crate::clock::Timestamp;
use crate::codec;
use crate::engine::catalog::{CatalogTable, Flags, Table};
use crate::error::{Error, Result};
use crate::redo::{LazyTracked, RedoBuf};

pub(crate) const ITEMS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts.items");
/// (tenant, dedup key) -> id
pub(crate) const OPEN: TableDefinition<(&str, &str), u64> = TableDefinition::new("alerts.open");
/// (bucket, id) -> ()
pub(crate) const BY_STATE: TableDefinition<(u8, u64), ()> = TableDefinition::new("alerts.by_state");
/// (resolved_at, id) -> ()
pub(crate) const RESOLVED: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("alerts.resolved");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("alerts.meta");

/// The alert tables in the catalog: mutable state a restore point rolls back, except the
/// next id, which only grows.
pub(crate) static TABLES: [&dyn CatalogTable; 5] = [
    &Table::new(24, ITEMS, Flags::MUTABLE),
    &Table::new(25, OPEN, Flags::MUTABLE),
    &Table::new(26, BY_STATE, Flags::MUTABLE),
    &Table::new(27, RESOLVED, Flags::MUTABLE),
    &Table::new(28, META, Flags::KEPT),
];
const NEXT_ID: &str = "next_id";

/// `BY_STATE` bucket of alerts not resolved.
pub(crate) const UNRESOLVED: u8 = 0;
/// `BY_STATE` bucket of resolved alerts.
pub(crate) const RESOLVED_BUCKET: u8 = 1;

/// An alert as stored in `ITEMS` (record version 1). Never change it: add a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAlert {
    pub(crate) tenant: String,
    pub(crate) source: String,
    pub(crate) dedup_key: String,
    pub(crate) severity: u8,
    pub(crate) message: String,
    pub(crate) state: u8,
    pub(crate) count: u64,
    pub(crate) first_seen: Timestamp,
    pub(crate) last_seen: Timestamp,
    /// 0: not acknowledged.
    pub(crate) acknowledged_at: Timestamp,
    pub(crate) acknowledged_by: String,
    /// 0: not resolved.
    pub(crate) resolved_at: Timestamp,
    pub(crate) resolved_by: String,
    pub(crate) resolution: String,
}

impl StoredAlert {
    pub(crate) fn state(&self) -> Result<AlertState> {
        AlertState::from_u8(self.state)
            .ok_or_else(|| Error::Corrupted(format!("alert state {}", self.state)))
    }

    pub(crate) fn severity(&self) -> Result<Severity> {
        Severity::from_u8(self.severity)
            .ok_or_else(|| Error::Corrupted(format!("alert severity {}", self.severity)))
    }
}

pub(crate) fn decode_alert(bytes: &[u8]) -> Result<StoredAlert> {
    let a: StoredAlert = codec::decode(bytes)?;
    a.state()?;
    a.severity()?;
    Ok(a)
}

/// The alert tables of one write transaction, each opened on first use.
pub(crate) struct AlertTables<'t> {
    items: LazyTracked<'t, u64, &'static [u8]>,
    open: LazyTracked<'t, (&'static str, &'static str), u64>,
    by_state: LazyTracked<'t, (u8, u64), ()>,
    resolved: LazyTracked<'t, (u64, u64), ()>,
    meta: LazyTracked<'t, &'static str, u64>,
}

impl<'t> AlertTables<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction, redo: &'t RedoBuf) -> Result<Self> {
        Ok(Self {
            items: LazyTracked::new(txn, ITEMS, redo),
            open: LazyTracked::new(txn, OPEN, redo),
            by_state: LazyTracked::new(txn, BY_STATE, redo),
            resolved: LazyTracked::new(txn, RESOLVED, redo),
            meta: LazyTracked::new(txn, META, redo),
        })
    }

    pub(crate) fn load(&mut self, id: u64) -> Result<StoredAlert> {
        match self.items.table()?.get(id)? {
            Some(g) => decode_alert(g.value()),
            None => Err(Error::NotFound(format!("alert {id}"))),
        }
    }

    fn save(&mut self, id: u64, a: &StoredAlert) -> Result<()> {
        self.items
            .table()?
            .insert(id, codec::encode(a)?.as_slice())?;
        Ok(())
    }

    /// The id of the alert not resolved under (`tenant`, `dedup_key`), if any.
    pub(crate) fn open_id(&mut self, tenant: &str, dedup_key: &str) -> Result<Option<u64>> {
        Ok(self
            .open
            .table()?
            .get((tenant, dedup_key))?
            .map(|g| g.value()))
    }

    /// Raises a validated alert: repeats the one not resolved under its dedup key (count
    /// and last seen up, severity and message the latest), or records a new one.
    pub(crate) fn raise(&mut self, new: &NewAlert, now: Timestamp) -> Result<Raised> {
        if let Some(id) = self.open_id(&new.tenant, &new.dedup_key)? {
            let mut a = self.load(id)?;
            a.count = a
                .count
                .checked_add(1)
                .ok_or_else(|| Error::Corrupted(format!("alert {id} count")))?;
            a.last_seen = a.last_seen.max(now);
            a.severity = new.severity as u8;
            a.message.clone_from(&new.message);
            self.save(id, &a)?;
            return Ok(Raised {
                id,
                count: a.count,
                created: false,
                state: a.state()?,
            });
        }
        let id = self
            .meta
            .table()?
            .get(NEXT_ID)?
            .map(|g| g.value())
            .unwrap_or(0);
        self.meta.table()?.insert(NEXT_ID, id + 1)?;
        let a = StoredAlert {
            tenant: new.tenant.clone(),
            source: new.source.clone(),
            dedup_key: new.dedup_key.clone(),
            severity: new.severity as u8,
            message: new.message.clone(),
            state: AlertState::Open as u8,
            count: 1,
            first_seen: now,
            last_seen: now,
            acknowledged_at: 0,
            acknowledged_by: String::new(),
            resolved_at: 0,
            resolved_by: String::new(),
            resolution: String::new(),
        };
        self.save(id, &a)?;
        self.open
            .table()?
            .insert((new.tenant.as_str(), new.dedup_key.as_str()), id)?;
        self.by_state.table()?.insert((UNRESOLVED, id), ())?;
        Ok(Raised {
            id,
            count: 1,
            created: true,
            state: AlertState::Open,
        })
    }

    /// Acknowledges alert `id`; returns the alert, and whether it changed (an
    /// acknowledged one stays as it was). A resolved alert is refused.
    pub(crate) fn acknowledge(
        &mut self,
        id: u64,
        by: &str,
        now: Timestamp,
    ) -> Result<(StoredAlert, bool)> {
        let mut a = self.load(id)?;
        match a.state()? {
            AlertState::Resolved => Err(Error::InvalidArgument(format!(
                "alert {id} is resolved; only an open alert can be acknowledged"
            ))),
            AlertState::Acknowledged => Ok((a, false)),
            AlertState::Open => {
                a.state = AlertState::Acknowledged as u8;
                a.acknowledged_at = now;
                a.acknowledged_by = by.to_owned();
                self.save(id, &a)?;
                Ok((a, true))
            }
        }
    }

    /// Resolves alert `id`; returns the alert, and whether it changed (a resolved one
    /// stays as it was).
    pub(crate) fn resolve(
        &mut self,
        id: u64,
        by: &str,
        resolution: &str,
        now: Timestamp,
    ) -> Result<(StoredAlert, bool)> {
        let mut a = self.load(id)?;
        if a.state()? == AlertState::Resolved {
            return Ok((a, false));
        }
        let removed = self
            .open
            .table()?
            .remove((a.tenant.as_str(), a.dedup_key.as_str()))?
            .map(|g| g.value());
        if removed != Some(id) {
            return Err(Error::Corrupted(format!(
                "alert {id} is not resolved but its dedup row holds {removed:?}"
            )));
        }
        self.by_state.table()?.remove((UNRESOLVED, id))?;
        self.by_state.table()?.insert((RESOLVED_BUCKET, id), ())?;
        a.state = AlertState::Resolved as u8;
        a.resolved_at = now;
        a.resolved_by = by.to_owned();
        a.resolution = resolution.to_owned();
        self.resolved.table()?.insert((now, id), ())?;
        self.save(id, &a)?;
        Ok((a, true))
    }

    /// Alerts resolved at or before `cutoff`, oldest first, at most `limit`.
    pub(crate) fn purgeable(&mut self, cutoff: Timestamp, limit: usize) -> Result<Vec<(u64, u64)>> {
        Ok(self
            .resolved
            .table()?
            .range(..=(cutoff, u64::MAX))?
            .take(limit)
            .map(|r| r.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?)
    }

    /// Deletes the resolved alerts `rows` (from [`AlertTables::purgeable`]).
    pub(crate) fn purge(&mut self, rows: &[(u64, u64)]) -> Result<()> {
        for &(at, id) in rows {
            self.resolved.table()?.remove((at, id))?;
            self.by_state.table()?.remove((RESOLVED_BUCKET, id))?;
            if self.items.table()?.remove(id)?.is_none() {
                return Err(Error::Corrupted(format!(
                    "resolved alert {id} is in the purge index but has no record"
                )));
            }
        }
        Ok(())
    }
}
