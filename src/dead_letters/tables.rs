//! The dead-letter tables and every write to them. Only this module writes them.
//!
//! Tables (prefix `dlq.`):
//! - `ITEMS`: id -> item record (`codec` version byte + postcard [`StoredItem`]): state,
//!   attempts, times, fence, history. The payload lives apart in `PAYLOADS` (id -> raw
//!   bytes) so the frequent rewrites of an item (claim, fail) never copy it.
//! - `DUE`: (time, id) -> () for every Pending item (time = when it is due) and every
//!   Leased item (time = when its lease ends): a claim scans this from the start up to
//!   now, so an item whose lease ran out is claimable again without any sweeper.
//! - `FINISHED`: (finished_at, id) -> () for every Done and Dead item, for purge.
//! - `BY_STATE`: (bucket, id) -> (tenant, kind, created), one row per item: lists and
//!   redrives filter a state without decoding items. The bucket is the state, except that
//!   Pending and Leased items share the Pending bucket ([`bucket`]): a claim, the most
//!   frequent write, then moves no index row (a list of either state checks each item's
//!   own state). Builds before this kept Leased items under their own bucket;
//!   [`DlqTables::upgrade_index`] moves such rows.
//! - `COUNTS`: state -> number of items in it, so counts never scan.
//! - `META`: "next_id" -> the id the next item gets. Ids are never reused.
//!
//! Invariants, kept by every write below:
//! - Each item is in exactly one state; `BY_STATE` (by bucket) and `COUNTS` (by state)
//!   agree with `ITEMS`. After an open or a restore, no row is in the Leased bucket.
//! - Pending and Leased items have exactly one `DUE` row, at `item.at`; Done and Dead
//!   items have exactly one `FINISHED` row, at `item.finished`; no other rows exist.
//! - Pending implies `attempts < max_attempts`. Attempts are counted at claim.
//! - `claims` only grows (a redrive does not reset it): a claim's token is the value it
//!   set, so a worker whose lease ran out can never ack or fail a later claim.

use crate::engine::catalog::{CatalogTable, Flags, Table};
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::codec;
use crate::dead_letters::policy::{micros, mix, SplitMix64};
use crate::dead_letters::{
    lease_lost, Claimed, DlqConfig, DlqFilter, DlqState, NewDeadLetter, Outcome,
};
use crate::error::{Error, Result};
use crate::redo::{LazyTracked, RedoBuf};

pub(crate) const ITEMS: TableDefinition<u64, &[u8]> = TableDefinition::new("dlq.items");
pub(crate) const PAYLOADS: TableDefinition<u64, &[u8]> = TableDefinition::new("dlq.payloads");
pub(crate) const DUE: TableDefinition<(u64, u64), ()> = TableDefinition::new("dlq.due");
pub(crate) const FINISHED: TableDefinition<(u64, u64), ()> = TableDefinition::new("dlq.finished");
/// (state, id) -> (tenant, kind, created)
pub(crate) const BY_STATE: TableDefinition<(u8, u64), (&str, &str, u64)> =
    TableDefinition::new("dlq.by_state");
pub(crate) const COUNTS: TableDefinition<u8, u64> = TableDefinition::new("dlq.counts");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("dlq.meta");

/// The dead-letter tables in the catalog. `META` (the next id) only grows: a restore
/// keeps it, so no id handed out after a point is ever reused.
pub(crate) static TABLES: [&dyn CatalogTable; 7] = [
    &Table::new(8, ITEMS, Flags::MUTABLE),
    &Table::new(9, PAYLOADS, Flags::MUTABLE),
    &Table::new(10, DUE, Flags::MUTABLE),
    &Table::new(11, FINISHED, Flags::MUTABLE),
    &Table::new(12, BY_STATE, Flags::MUTABLE),
    &Table::new(13, COUNTS, Flags::MUTABLE),
    &Table::new(14, META, Flags::KEPT),
];
const NEXT_ID: &str = "next_id";

/// The `BY_STATE` bucket of items in `state` (see the module docs).
pub(crate) fn bucket(state: u8) -> u8 {
    if state == DlqState::Leased as u8 {
        DlqState::Pending as u8
    } else {
        state
    }
}

/// The history error written when a lease runs out before its worker acks or fails.
pub const LEASE_EXPIRED: &str = "lease expired before the worker acked or failed it";

/// Whether `BY_STATE` holds rows under the Leased bucket, which only builds before
/// [`bucket`] wrote (see [`DlqTables::upgrade_index`]).
pub(crate) fn has_leased_bucket(read: &redb::ReadTransaction) -> Result<bool> {
    let t = match read.open_table(BY_STATE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let leased = DlqState::Leased as u8;
    let mut rows = t.range((leased, 0)..=(leased, u64::MAX))?;
    Ok(rows.next().transpose()?.is_some())
}

/// One failure in an item's history, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAttempt {
    pub(crate) attempt: u32,
    pub(crate) at: Timestamp,
    pub(crate) error: String,
    pub(crate) retryable: bool,
}

/// An item as stored in `ITEMS` (record version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredItem {
    pub(crate) tenant: String,
    pub(crate) kind: String,
    pub(crate) state: u8,
    pub(crate) max_attempts: u32,
    /// Attempts claimed since the item was recorded or last redriven.
    pub(crate) attempts: u32,
    pub(crate) created: Timestamp,
    /// Pending: when it is due. Leased: when the lease ends. Otherwise 0.
    pub(crate) at: Timestamp,
    /// Done and Dead: when it became so. Otherwise 0.
    pub(crate) finished: Timestamp,
    /// Claims ever made; the current claim's fence token.
    pub(crate) claims: u64,
    /// The last backoff delay drawn (decorrelated jitter grows from it), µs.
    pub(crate) last_delay_us: u64,
    pub(crate) redrives: u32,
    pub(crate) history: Vec<StoredAttempt>,
}

impl StoredItem {
    pub(crate) fn state(&self) -> Result<DlqState> {
        DlqState::from_u8(self.state)
            .ok_or_else(|| Error::Corrupted(format!("dead letter state {}", self.state)))
    }
}

pub(crate) fn decode_item(bytes: &[u8]) -> Result<StoredItem> {
    let item: StoredItem = codec::decode(bytes)?;
    item.state()?;
    Ok(item)
}

/// The dead-letter tables of one write transaction, each opened on first use.
pub(crate) struct DlqTables<'t> {
    items: LazyTracked<'t, u64, &'static [u8]>,
    payloads: LazyTracked<'t, u64, &'static [u8]>,
    due: LazyTracked<'t, (u64, u64), ()>,
    finished: LazyTracked<'t, (u64, u64), ()>,
    by_state: LazyTracked<'t, (u8, u64), (&'static str, &'static str, u64)>,
    counts: LazyTracked<'t, u8, u64>,
    meta: LazyTracked<'t, &'static str, u64>,
    /// Changes to `COUNTS` per state, written once at the end of the transaction
    /// ([`DlqTables::flush_counts`]) instead of on every move.
    deltas: [i64; 4],
}

impl<'t> DlqTables<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction, redo: &'t RedoBuf) -> Result<Self> {
        // Infallible now; kept a `Result` for the slot's opener signature.
        Ok(Self {
            items: LazyTracked::new(txn, ITEMS, redo),
            payloads: LazyTracked::new(txn, PAYLOADS, redo),
            due: LazyTracked::new(txn, DUE, redo),
            finished: LazyTracked::new(txn, FINISHED, redo),
            by_state: LazyTracked::new(txn, BY_STATE, redo),
            counts: LazyTracked::new(txn, COUNTS, redo),
            meta: LazyTracked::new(txn, META, redo),
            deltas: [0; 4],
        })
    }

    fn load(&mut self, id: u64) -> Result<StoredItem> {
        match self.items.table()?.get(id)? {
            Some(g) => decode_item(g.value()),
            None => Err(Error::NotFound(format!("dead letter {id}"))),
        }
    }

    fn save(&mut self, id: u64, item: &StoredItem) -> Result<()> {
        self.items
            .table()?
            .insert(id, codec::encode(item)?.as_slice())?;
        Ok(())
    }

    fn add_count(&mut self, state: u8, delta: i64) -> Result<()> {
        let slot = self
            .deltas
            .get_mut(usize::from(state))
            .ok_or_else(|| Error::Corrupted(format!("dead letter state {state}")))?;
        *slot += delta;
        Ok(())
    }

    /// Writes the counts changed in this transaction. Must run before it commits
    /// (`flush_counts_observer`).
    pub(crate) fn flush_counts(&mut self) -> Result<()> {
        for state in 0..self.deltas.len() {
            let delta = std::mem::take(&mut self.deltas[state]);
            if delta == 0 {
                continue;
            }
            let state = state as u8;
            let cur = self
                .counts
                .table()?
                .get(state)?
                .map(|g| g.value())
                .unwrap_or(0);
            let next = cur
                .checked_add_signed(delta)
                .ok_or_else(|| Error::Corrupted(format!("dead letter count of state {state}")))?;
            self.counts.table()?.insert(state, next)?;
        }
        Ok(())
    }

    /// Moves `item` (stored under `from`) to `to` in `BY_STATE` and `COUNTS`; the caller
    /// sets `item.state` and the `DUE` / `FINISHED` rows.
    fn move_state(&mut self, id: u64, item: &StoredItem, from: u8, to: u8) -> Result<()> {
        if from == to {
            return Ok(());
        }
        if bucket(from) != bucket(to) {
            self.by_state.table()?.remove((bucket(from), id))?;
            self.by_state.table()?.insert(
                (bucket(to), id),
                (item.tenant.as_str(), item.kind.as_str(), item.created),
            )?;
        }
        self.add_count(from, -1)?;
        self.add_count(to, 1)
    }

    /// Moves index rows a build before [`bucket`] wrote under the Leased bucket to the
    /// Pending one, in this transaction; returns how many it moved.
    pub(crate) fn upgrade_index(&mut self) -> Result<u64> {
        let leased = DlqState::Leased as u8;
        let rows: Vec<(u64, (String, String, u64))> = self
            .by_state
            .table()?
            .range((leased, 0)..=(leased, u64::MAX))?
            .map(|r| {
                r.map(|(k, v)| {
                    let (tenant, kind, created) = v.value();
                    (k.value().1, (tenant.to_owned(), kind.to_owned(), created))
                })
            })
            .collect::<Result<_, _>>()?;
        for (id, (tenant, kind, created)) in &rows {
            self.by_state.table()?.remove((leased, *id))?;
            self.by_state.table()?.insert(
                (bucket(leased), *id),
                (tenant.as_str(), kind.as_str(), *created),
            )?;
        }
        Ok(rows.len() as u64)
    }

    /// Records a validated new item.
    pub(crate) fn record(
        &mut self,
        new: &NewDeadLetter,
        now: Timestamp,
        cfg: &DlqConfig,
    ) -> Result<u64> {
        let id = self
            .meta
            .table()?
            .get(NEXT_ID)?
            .map(|g| g.value())
            .unwrap_or(0);
        self.meta.table()?.insert(NEXT_ID, id + 1)?;
        let state = if new.permanent {
            DlqState::Dead
        } else {
            DlqState::Pending
        };
        let history = match &new.error {
            Some(e) => vec![StoredAttempt {
                attempt: 0,
                at: now,
                error: e.clone(),
                retryable: !new.permanent,
            }],
            None => Vec::new(),
        };
        let item = StoredItem {
            tenant: new.tenant.clone(),
            kind: new.kind.clone(),
            state: state as u8,
            max_attempts: new.max_attempts.unwrap_or(cfg.policy.max_attempts),
            attempts: 0,
            created: now,
            at: if new.permanent {
                0
            } else {
                new.first_attempt_at.unwrap_or(now)
            },
            finished: if new.permanent { now } else { 0 },
            claims: 0,
            last_delay_us: 0,
            redrives: 0,
            history,
        };
        self.save(id, &item)?;
        self.payloads.table()?.insert(id, new.payload.as_slice())?;
        self.by_state.table()?.insert(
            (bucket(item.state), id),
            (item.tenant.as_str(), item.kind.as_str(), now),
        )?;
        self.add_count(item.state, 1)?;
        if new.permanent {
            self.finished.table()?.insert((now, id), ())?;
        } else {
            self.due.table()?.insert((item.at, id), ())?;
        }
        Ok(id)
    }

    /// Leases up to `limit` due items for `lease_us` (at least 1), counting an attempt on
    /// each. An item whose lease ran out is due again: its lapse is recorded in its
    /// history, and if it has no attempts left it becomes Dead instead (not returned).
    pub(crate) fn claim(
        &mut self,
        now: Timestamp,
        limit: usize,
        lease_us: u64,
    ) -> Result<Vec<Claimed>> {
        let mut out = Vec::new();
        let until = now.saturating_add(lease_us);
        while out.len() < limit {
            let keys: Vec<(u64, u64)> = self
                .due
                .table()?
                .range(..=(now, u64::MAX))?
                .take(limit - out.len())
                .map(|r| r.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            if keys.is_empty() {
                break;
            }
            for (at, id) in keys {
                self.due.table()?.remove((at, id))?;
                let mut item = self.load(id)?;
                let from = item.state;
                if item.at != at {
                    return Err(Error::Corrupted(format!(
                        "dead letter {id} is due at {at} in the index but {} in its record",
                        item.at
                    )));
                }
                match item.state()? {
                    DlqState::Pending => {}
                    DlqState::Leased => {
                        item.history.push(StoredAttempt {
                            attempt: item.attempts,
                            at,
                            error: LEASE_EXPIRED.into(),
                            retryable: true,
                        });
                        if item.attempts >= item.max_attempts {
                            self.finish(id, &mut item, from, DlqState::Dead, now)?;
                            continue;
                        }
                    }
                    s => {
                        return Err(Error::Corrupted(format!(
                            "dead letter {id} is {s:?} but in the due index"
                        )))
                    }
                }
                item.attempts += 1;
                item.claims += 1;
                item.state = DlqState::Leased as u8;
                item.at = until;
                self.due.table()?.insert((until, id), ())?;
                self.move_state(id, &item, from, item.state)?;
                self.save(id, &item)?;
                let payload = match self.payloads.table()?.get(id)? {
                    Some(g) => g.value().to_vec(),
                    None => return Err(Error::Corrupted(format!("dead letter {id} payload"))),
                };
                out.push(Claimed {
                    id,
                    token: item.claims,
                    attempt: item.attempts,
                    max_attempts: item.max_attempts,
                    tenant: item.tenant,
                    kind: item.kind,
                    payload,
                    lease_until: until,
                });
            }
        }
        Ok(out)
    }

    /// Loads the item a claim leased, refusing when the lease is no longer held.
    fn held(&mut self, id: u64, token: u64, now: Timestamp) -> Result<StoredItem> {
        let item = self.load(id)?;
        if item.state != DlqState::Leased as u8 || item.claims != token || now >= item.at {
            return Err(lease_lost(id));
        }
        Ok(item)
    }

    /// Sets `item` Done or Dead at `now`, moving its index rows; saves it.
    fn finish(
        &mut self,
        id: u64,
        item: &mut StoredItem,
        from: u8,
        to: DlqState,
        now: Timestamp,
    ) -> Result<()> {
        item.state = to as u8;
        item.at = 0;
        item.finished = now;
        self.finished.table()?.insert((now, id), ())?;
        self.move_state(id, item, from, item.state)?;
        self.save(id, item)
    }

    /// Marks a held claim Done.
    pub(crate) fn ack(&mut self, id: u64, token: u64, now: Timestamp) -> Result<()> {
        let mut item = self.held(id, token, now)?;
        self.due.table()?.remove((item.at, id))?;
        let from = item.state;
        self.finish(id, &mut item, from, DlqState::Done, now)
    }

    /// Records a held claim's failure: reschedules it after a backoff delay, or makes it
    /// Dead when the error is permanent or no attempts are left.
    pub(crate) fn fail(
        &mut self,
        id: u64,
        token: u64,
        error: &str,
        retryable: bool,
        now: Timestamp,
        cfg: &DlqConfig,
    ) -> Result<Outcome> {
        let mut item = self.held(id, token, now)?;
        self.due.table()?.remove((item.at, id))?;
        let from = item.state;
        item.history.push(StoredAttempt {
            attempt: item.attempts,
            at: now,
            error: error.to_owned(),
            retryable,
        });
        if !retryable || item.attempts >= item.max_attempts {
            self.finish(id, &mut item, from, DlqState::Dead, now)?;
            return Ok(Outcome::Dead);
        }
        // Derived from (seed, id, claim), not drawn from shared state: a write closure
        // may run twice, and the same failure must get the same delay.
        let mut rng = SplitMix64::new(cfg.seed ^ mix(id ^ mix(item.claims)));
        let previous = std::time::Duration::from_micros(item.last_delay_us);
        let delay = cfg.policy.delay(item.attempts - 1, previous, &mut rng);
        let at = now.saturating_add(micros(delay));
        item.last_delay_us = micros(delay);
        item.state = DlqState::Pending as u8;
        item.at = at;
        self.due.table()?.insert((at, id), ())?;
        self.move_state(id, &item, from, item.state)?;
        self.save(id, &item)?;
        Ok(Outcome::Rescheduled { at })
    }

    /// Makes a Dead or Pending item Pending and due now, with its attempts reset.
    pub(crate) fn redrive(&mut self, id: u64, now: Timestamp) -> Result<()> {
        let mut item = self.load(id)?;
        let from = item.state;
        match item.state()? {
            DlqState::Dead => {
                self.finished.table()?.remove((item.finished, id))?;
            }
            DlqState::Pending => {
                self.due.table()?.remove((item.at, id))?;
            }
            s => {
                return Err(Error::InvalidArgument(format!(
                    "dead letter {id} is {}; only dead or pending ones can be redriven",
                    s.as_str()
                )))
            }
        }
        item.attempts = 0;
        item.redrives += 1;
        item.last_delay_us = 0;
        item.finished = 0;
        item.state = DlqState::Pending as u8;
        item.at = now;
        self.due.table()?.insert((now, id), ())?;
        self.move_state(id, &item, from, item.state)?;
        self.save(id, &item)
    }

    /// Redrives Dead items matching `filter` with ids above `after`, looking at no more
    /// than `scan` index rows. Returns how many were redriven and the last id looked at
    /// (`None` when the scan reached the end).
    pub(crate) fn redrive_where(
        &mut self,
        filter: &DlqFilter,
        after: Option<u64>,
        scan: usize,
        now: Timestamp,
    ) -> Result<(u64, Option<u64>)> {
        let dead = DlqState::Dead as u8;
        let start = match after {
            Some(id) if id == u64::MAX => return Ok((0, None)),
            Some(id) => id + 1,
            None => 0,
        };
        let mut ids = Vec::new();
        let mut last = None;
        let mut seen = 0;
        for row in self
            .by_state
            .table()?
            .range((dead, start)..=(dead, u64::MAX))?
        {
            let (k, v) = row?;
            let (_, id) = k.value();
            let (tenant, kind, created) = v.value();
            if filter.matches(tenant, kind, created) {
                ids.push(id);
            }
            seen += 1;
            if seen == scan {
                last = Some(id);
                break;
            }
        }
        for &id in &ids {
            self.redrive(id, now)?;
        }
        Ok((ids.len() as u64, last))
    }

    /// Deletes up to `limit` Done and Dead items that finished at or before `cutoff`.
    pub(crate) fn purge(&mut self, cutoff: Timestamp, limit: usize) -> Result<u64> {
        let keys: Vec<(u64, u64)> = self
            .finished
            .table()?
            .range(..=(cutoff, u64::MAX))?
            .take(limit)
            .map(|r| r.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        for &(at, id) in &keys {
            let item = self.load(id)?;
            if item.finished != at {
                return Err(Error::Corrupted(format!(
                    "dead letter {id} finished at {at} in the index but {} in its record",
                    item.finished
                )));
            }
            self.finished.table()?.remove((at, id))?;
            self.items.table()?.remove(id)?;
            self.payloads.table()?.remove(id)?;
            self.by_state.table()?.remove((bucket(item.state), id))?;
            self.add_count(item.state, -1)?;
        }
        Ok(keys.len() as u64)
    }
}

/// Commit observer: writes the batch's dead-letter count changes (gathered per batch so
/// a busy batch writes each counter once).
pub(crate) fn flush_counts_observer(tx: &mut crate::WriteTx<'_>) -> Result<()> {
    match tx.part_if_open::<super::DlqPart>() {
        Some(dlq) => dlq.flush_counts(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dead_letters::DlqQuery;
    use crate::{Durability, Options, Store};
    use std::time::Duration;

    impl DlqTables<'_> {
        /// Indexes Leased items under their own bucket, as builds before [`bucket`] did.
        fn index_as_before_buckets(&mut self) -> Result<()> {
            let leased = DlqState::Leased as u8;
            let ids: Vec<u64> = self
                .by_state
                .table()?
                .range((0u8, 0u64)..=(0u8, u64::MAX))?
                .map(|r| r.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            for id in ids {
                let item = self.load(id)?;
                if item.state == leased {
                    self.by_state.table()?.remove((0, id))?;
                    let v = (item.tenant.as_str(), item.kind.as_str(), item.created);
                    self.by_state.table()?.insert((leased, id), v)?;
                }
            }
            Ok(())
        }
    }

    fn ids(store: &Store, state: DlqState) -> Vec<u64> {
        let q = DlqQuery::new().state(state).limit(100);
        let page = store.dead_letters().list(&q).unwrap();
        page.items.iter().map(|d| d.id).collect()
    }

    fn legacy(store: &Store) -> bool {
        has_leased_bucket(&store.begin_read().unwrap()).unwrap()
    }

    /// Lists and counts by state agree, and the kept state digest equals a scan.
    fn check(store: &Store, leased: &[u64], pending: &[u64], stage: &str) {
        assert!(
            !legacy(store),
            "{stage}: no row is left in the Leased bucket"
        );
        assert_eq!(ids(store, DlqState::Leased), leased, "{stage}");
        assert_eq!(ids(store, DlqState::Pending), pending, "{stage}");
        let c = store.dead_letters().counts().unwrap();
        assert_eq!(
            (c.leased, c.pending),
            (leased.len() as u64, pending.len() as u64)
        );
        let p = store.restore_points().create(stage).unwrap();
        store.restore_points().verify(p.id).unwrap();
        store.restore_points().delete(p.id).unwrap();
    }

    /// A store whose index an earlier build wrote (Leased items under their own bucket)
    /// is moved to the shared bucket at open, and again after a restore point taken then
    /// is restored; lists, counts and the state digest stay right throughout.
    #[test]
    fn leased_rows_of_an_earlier_build_move_to_the_shared_bucket() {
        let dir = std::env::temp_dir().join(format!("hs-dlq-bucket-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.hs");
        let store = Store::open(&path, Options::new()).unwrap();
        let dl = store.dead_letters();
        for i in 0..10u8 {
            dl.record(
                NewDeadLetter::new("acme", "webhook", vec![i]),
                Durability::Buffered,
            )
            .unwrap();
        }
        let claimed = dl.claim_due(4, Duration::from_secs(600)).unwrap();
        dl.ack(&claimed[0]).unwrap();
        check(&store, &[1, 2, 3], &[4, 5, 6, 7, 8, 9], "shared bucket");
        store
            .write(Durability::Durable, |tx| {
                tx.dlq()?.index_as_before_buckets()
            })
            .unwrap();
        assert!(legacy(&store));
        let point = store.restore_points().create("before buckets").unwrap();
        store.close().unwrap();

        let store = Store::open(&path, Options::new()).unwrap();
        check(&store, &[1, 2, 3], &[4, 5, 6, 7, 8, 9], "after open");
        let dl = store.dead_letters();
        let more = dl.claim_due(2, Duration::from_secs(600)).unwrap();
        assert_eq!(more.iter().map(|c| c.id).collect::<Vec<_>>(), [4, 5]);
        dl.ack(&more[0]).unwrap();
        check(&store, &[1, 2, 3, 5], &[6, 7, 8, 9], "after a claim");
        store.restore_points().restore(point.id, "test").unwrap();
        check(&store, &[1, 2, 3], &[4, 5, 6, 7, 8, 9], "after a restore");
        store.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
