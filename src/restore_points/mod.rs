//! Restore points: named states of the store to roll back to after a risky change,
//! without ever rolling back the audit log.
//!
//! A restore point is a redb persistent savepoint plus a row of ours: label, creation
//! time, the audit log's size and root at that moment, and a BLAKE3 digest of the mutable
//! state (app key/value state, idempotency keys, dead letters; see `digest.rs`).
//!
//! - [`RestorePoints::create`] takes the savepoint in a transaction of its own, committed
//!   durably; writers wait for it. The digest is read, not computed: every write keeps
//!   it up to date (see `digest.rs`).
//! - [`RestorePoints::restore`] rolls the mutable state back in one durable transaction,
//!   keeps every audit entry and log entry written since (see `carry.rs`), and appends an
//!   audit entry naming the point. Idempotency keys in flight are fenced off (their
//!   tokens fail with [`Error::Fenced`]); dead-letter claims made since the point no
//!   longer hold their items. Points taken after the restored one are gone (redb
//!   invalidates later savepoints).
//! - [`RestorePoints::verify`] restores the point inside a transaction that is never
//!   committed, recomputes the digest and compares it.
//!
//! Space: while a savepoint exists, redb keeps every page it references, so the file grows
//! with the changes made since the oldest point. [`RestorePoints::space`] reports it; the
//! number of points is capped by [`Options::max_restore_points`](crate::Options).

mod carry;
pub(crate) use carry::copy_all;
pub(crate) mod digest;
mod export;
pub(crate) mod tables;

pub(crate) use tables::create_tables;

use std::sync::atomic::Ordering::Relaxed;

use crate::audit::{AuditEvent, Hash};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::Store;
use tables::{PointRecordV1, POINTS};

/// Longest label, in bytes.
pub const MAX_LABEL: usize = 256;

/// A restore point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePoint {
    /// Its id (redb's savepoint id): increasing, never reused.
    pub id: u64,
    /// The label given at creation.
    pub label: String,
    /// When it was created.
    pub created: Timestamp,
    /// The audit log's size at that moment.
    pub audit_size: u64,
    /// The audit log's root at that size.
    pub audit_root: Hash,
    /// The digest of the mutable state at that moment.
    pub digest: Hash,
}

impl RestorePoint {
    fn from_record(id: u64, r: PointRecordV1) -> Self {
        Self {
            id,
            label: r.label,
            created: r.created,
            audit_size: r.audit_size,
            audit_root: r.audit_root,
            digest: r.digest,
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReceipt {
    /// The seq of the audit entry that records the restore.
    pub audit_seq: u64,
}

/// Space the file holds, to judge what restore points pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePointSpace {
    /// Restore points that exist.
    pub points: usize,
    /// The most that may exist.
    pub max_points: usize,
    /// Bytes in pages the file has allocated.
    pub allocated_bytes: u64,
    /// Of those, bytes not reachable from the current state: held for restore points (or
    /// freed pages redb has not yet reused). An estimate from redb's statistics.
    pub pinned_bytes: u64,
}

/// The restore points of a [`Store`]: `store.restore_points()`.
#[derive(Debug, Clone, Copy)]
pub struct RestorePoints<'s> {
    store: &'s Store,
}

fn check_label(label: &str) -> Result<()> {
    if label.is_empty() {
        return Err(Error::InvalidArgument(
            "a restore point needs a label".into(),
        ));
    }
    if label.len() > MAX_LABEL {
        return Err(Error::TooLong {
            field: "restore point label",
            len: label.len(),
            max: MAX_LABEL,
        });
    }
    Ok(())
}

impl<'s> RestorePoints<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Creates a restore point of the current state; returns it. Fails with
    /// [`Error::LimitReached`] when `max_restore_points` exist (delete one first).
    pub fn create(&self, label: &str) -> Result<RestorePoint> {
        check_label(label)?;
        let max = self.store.inner.opts.max_restore_points;
        let label = label.to_owned();
        self.store.inner.writer.exclusive(
            |txn, before, state| {
                let existing = redb::ReadableTableMetadata::len(&before.open_table(POINTS)?)?;
                if existing >= max as u64 {
                    return Err(Error::LimitReached {
                        what: "restore points",
                        max,
                    });
                }
                // Kept up to date by every write: no scan (see `digest.rs`).
                let digest = state.digest.finish();
                let id = txn
                    .persistent_savepoint()
                    .map_err(|e| Error::Storage(format!("savepoint: {e}")))?;
                Ok((
                    id,
                    digest,
                    state.audit.frontier.size,
                    state.audit.frontier.root(),
                ))
            },
            move |tx, (id, digest, audit_size, audit_root)| {
                let rec = PointRecordV1 {
                    label,
                    created: tx.now(),
                    audit_size,
                    audit_root,
                    digest,
                };
                tx.raw_txn()
                    .open_table(POINTS)?
                    .insert(id, crate::codec::encode(&rec)?.as_slice())?;
                Ok(RestorePoint::from_record(id, rec))
            },
        )
    }

    /// Every restore point, oldest first.
    pub fn list(&self) -> Result<Vec<RestorePoint>> {
        let read = self.store.begin_read()?;
        Ok(tables::all(&read.open_table(POINTS)?)?
            .into_iter()
            .map(|(id, r)| RestorePoint::from_record(id, r))
            .collect())
    }

    /// One restore point, or `None`.
    pub fn get(&self, id: u64) -> Result<Option<RestorePoint>> {
        let read = self.store.begin_read()?;
        let t = read.open_table(POINTS)?;
        let Some(v) = redb::ReadableTable::get(&t, id)? else {
            return Ok(None);
        };
        Ok(Some(RestorePoint::from_record(
            id,
            crate::codec::decode(v.value())?,
        )))
    }

    /// Deletes a restore point (its pinned pages are freed as later commits reuse them);
    /// returns whether it existed.
    pub fn delete(&self, id: u64) -> Result<bool> {
        self.store.inner.writer.exclusive(
            |txn, _, _| {
                txn.delete_persistent_savepoint(id)
                    .map_err(|e| Error::Storage(format!("savepoint: {e}")))
            },
            move |tx, had_savepoint| {
                let had_row = tx.raw_txn().open_table(POINTS)?.remove(id)?.is_some();
                Ok(had_savepoint || had_row)
            },
        )
    }

    /// Checks that the point's state still has the digest recorded at its creation.
    /// Writers wait while the state is read.
    pub fn verify(&self, id: u64) -> Result<()> {
        let point = self
            .get(id)?
            .ok_or_else(|| Error::NotFound(format!("restore point {id}")))?;
        let digest = self.store.inner.writer.inspect(|txn| {
            let sp = txn
                .get_persistent_savepoint(id)
                .map_err(|e| Error::Corrupted(format!("restore point {id}'s savepoint: {e}")))?;
            txn.restore_savepoint(&sp)
                .map_err(|e| Error::Corrupted(format!("restore point {id}'s savepoint: {e}")))?;
            Ok(digest::scan(&*txn)?.finish())
        })?;
        if digest != point.digest {
            return Err(Error::Corrupted(format!(
                "restore point {id} ({:?}): its state's digest does not match the one recorded",
                point.label
            )));
        }
        Ok(())
    }

    /// Rolls the mutable state back to restore point `id`, keeping the audit log and the
    /// log ring, and appends an audit entry (tenant `hardstore`, action
    /// `restore_point.restore`, the given `actor`) naming the point. Durable.
    pub fn restore(&self, id: u64, actor: &str) -> Result<RestoreReceipt> {
        let point = self
            .get(id)?
            .ok_or_else(|| Error::NotFound(format!("restore point {id}")))?;
        let event = AuditEvent::new("hardstore", "restore_point.restore")
            .actor(actor)
            .resource(format!("restore_point/{id}"))
            .outcome("ok")
            .detail("label", point.label.clone())
            .detail("audit_size_at_point", point.audit_size.to_string());
        event.validate()?;
        let flights = self.store.flights().clone();
        self.store.inner.writer.exclusive(
            |txn, before, state| {
                let sp = txn
                    .get_persistent_savepoint(id)
                    .map_err(|e| Error::NotFound(format!("restore point {id}'s savepoint: {e}")))?;
                txn.restore_savepoint(&sp)
                    .map_err(|e| Error::Storage(format!("restoring savepoint {id}: {e}")))?;
                carry::carry_forward(
                    txn,
                    before,
                    id,
                    point.audit_size,
                    state.audit.frontier.size,
                    state.changes,
                )
            },
            move |tx, ()| {
                tx.reload_digest()?;
                // A point taken by an earlier build may index Leased dead letters apart.
                tx.dlq()?.upgrade_index()?;
                let receipt = tx.audit_append(&event)?;
                tx.after(Box::new(move |committed| {
                    if committed {
                        // Every key in flight began after the point, or is rolled back
                        // to its state then: their holders are fenced off.
                        flights.lock().map.clear();
                        flights.purge_from.store(0, Relaxed);
                    }
                }));
                Ok(RestoreReceipt {
                    audit_seq: receipt.seq,
                })
            },
        )
    }

    /// Writes restore point `id`'s state as a new standalone store file at `path` (which
    /// must not exist), with its own store id and no restore points; returns the rows
    /// copied. Writers wait while the state is copied. The idempotency epoch is the
    /// point's and is bumped at the new store's first open, like any open.
    pub fn export(&self, id: u64, path: impl AsRef<std::path::Path>) -> Result<u64> {
        let path = path.as_ref();
        if self.get(id)?.is_none() {
            return Err(Error::NotFound(format!("restore point {id}")));
        }
        let opts = self.store.inner.opts.clone();
        self.store.inner.writer.inspect(|txn| {
            let sp = txn
                .get_persistent_savepoint(id)
                .map_err(|e| Error::Corrupted(format!("restore point {id}'s savepoint: {e}")))?;
            txn.restore_savepoint(&sp)
                .map_err(|e| Error::Corrupted(format!("restore point {id}'s savepoint: {e}")))?;
            export::write_store(txn, path, &opts)
        })
    }

    /// The space the file holds, and how much of it restore points pin (an estimate).
    pub fn space(&self) -> Result<RestorePointSpace> {
        let points = self.list()?.len();
        let stats = self.store.inner.writer.inspect(|txn| Ok(txn.stats()?))?;
        let allocated = stats.allocated_pages() * stats.page_size() as u64;
        let used = stats.stored_bytes() + stats.metadata_bytes() + stats.fragmented_bytes();
        Ok(RestorePointSpace {
            points,
            max_points: self.store.inner.opts.max_restore_points,
            allocated_bytes: allocated,
            pinned_bytes: allocated.saturating_sub(used),
        })
    }
}
