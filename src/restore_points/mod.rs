//! Restore points: named states of the store to roll back to after a risky change,
//! without ever rolling back the audit log.
//!
//! A restore point is a row of ours: label, creation time, the audit log's size and root
//! at that moment, and a BLAKE3 digest of the mutable state (app key/value state,
//! idempotency keys, dead letters; see `digest.rs`). While points are alive, every write
//! keeps the old value of each mutable row it changes for the first time since the
//! newest point (`before.rs`): that is all a restore needs.
//!
//! - [`RestorePoints::create`] writes the row in a durable transaction of its own; the
//!   digest is read, not computed (every write keeps it up to date). O(1).
//! - [`RestorePoints::restore`] writes the kept old values back through the write path
//!   (so the redo log, the digest and the backup journal see them like any change) in
//!   one durable transaction, checks that the digest is then the point's (or changes
//!   nothing), and appends an audit entry naming the point. Nothing else goes back: the
//!   audit log, the log ring, counters that must only grow (the idempotency epoch, the
//!   next dead-letter id), the backup catalog. Idempotency keys in flight are fenced off
//!   (their tokens fail with [`Error::Fenced`]); dead-letter claims made since the point
//!   no longer hold their items. Points taken after the restored one are gone.
//! - [`RestorePoints::verify`] recomputes the point's digest from the current rows and
//!   the kept old values, and compares.
//!
//! Space: the kept values are at most one per changed row and live point, so the file
//! grows with the rows changed since the oldest point, not with the commits made.
//! [`RestorePoints::space`] reports it; the number of points is capped by the store's
//! `max_restore_points` setting.

pub(crate) mod before;
pub(crate) mod digest;
mod export;
pub(crate) mod tables;
pub(crate) mod upgrade;

use std::sync::atomic::Ordering::Relaxed;

use redb::ReadableTable;

use crate::audit::{AuditEvent, Hash};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::Store;
use tables::{PointRecordV1, META, NEXT_ID, POINTS};

/// The restore points' own tables in the catalog. `POINTS` and `META` are written only
/// by exclusive jobs (checkpoints), outside the redo log.
pub(crate) static TABLES: [&dyn crate::engine::catalog::CatalogTable; 4] = [
    &crate::engine::catalog::Table::new(19, digest::STATE, crate::engine::catalog::Flags::INTERNAL),
    &crate::engine::catalog::Table::new(
        21,
        before::BEFORE,
        crate::engine::catalog::Flags::INTERNAL,
    ),
    &crate::engine::catalog::Table::new(22, POINTS, crate::engine::catalog::Flags::INTERNAL),
    &crate::engine::catalog::Table::new(23, META, crate::engine::catalog::Flags::INTERNAL),
];

/// The newest live point (the generation old values are kept under), as `read` sees it.
pub(crate) fn newest(read: &redb::ReadTransaction) -> Result<Option<u64>> {
    Ok(read.open_table(POINTS)?.last()?.map(|(k, _)| k.value()))
}

/// Longest label, in bytes.
pub const MAX_LABEL: usize = 256;

/// A restore point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePoint {
    /// Its id: increasing, never reused.
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
    /// Bytes the old values kept for restore points hold (keys and values; 0 without
    /// points).
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
    /// [`Error::LimitReached`] when the store's `max_restore_points` exist (delete one
    /// first).
    pub fn create(&self, label: &str) -> Result<RestorePoint> {
        crate::metrics::count(
            self.store,
            "restore_points",
            "create",
            (|| {
                check_label(label)?;
                let label = label.to_owned();
                self.store.inner.writer.exclusive(
                    |_, _, _| Ok(()),
                    move |tx, ()| {
                        let max = tx.settings().max_restore_points;
                        let txn = tx.raw_txn();
                        let mut points = txn.open_table(POINTS)?;
                        let existing = redb::ReadableTableMetadata::len(&points)?;
                        if existing >= max as u64 {
                            return Err(Error::LimitReached {
                                what: "restore points",
                                max,
                            });
                        }
                        let mut meta = txn.open_table(META)?;
                        let last = points.last()?.map_or(0, |(k, _)| k.value());
                        let id = meta.get(NEXT_ID)?.map_or(1, |v| v.value()).max(last + 1);
                        meta.insert(NEXT_ID, id + 1)?;
                        let (audit_size, audit_root) = tx.audit_frontier()?;
                        let rec = PointRecordV1 {
                            label: label.clone(),
                            created: tx.now(),
                            audit_size,
                            audit_root,
                            // Kept up to date by every write: no scan (see `digest.rs`).
                            digest: tx.digest()?.finish(),
                        };
                        points.insert(id, crate::codec::encode(&rec)?.as_slice())?;
                        // From here on, changes keep their old values under this point.
                        *tx.points_mut()? = Some(id);
                        Ok(RestorePoint::from_record(id, rec))
                    },
                )
            })(),
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
        let Some(v) = t.get(id)? else {
            return Ok(None);
        };
        Ok(Some(RestorePoint::from_record(
            id,
            crate::codec::decode(v.value())?,
        )))
    }

    /// Deletes a restore point, and the old values only it needed; returns whether it
    /// existed.
    pub fn delete(&self, id: u64) -> Result<bool> {
        self.store.inner.writer.exclusive(
            |_, _, _| Ok(()),
            move |tx, ()| {
                let (older, newest) = {
                    let points = tx.raw_txn().open_table(POINTS)?;
                    if points.get(id)?.is_none() {
                        return Ok(false);
                    }
                    let older = points.range(..id)?.next_back().transpose()?;
                    let newer = points.range(id + 1..)?.next_back().transpose()?;
                    (older.map(|(k, _)| k.value()), newer.map(|(k, _)| k.value()))
                };
                tx.with_txn(|txn, redo| before::fold_into(txn, redo, id, older))?;
                tx.raw_txn().open_table(POINTS)?.remove(id)?;
                *tx.points_mut()? = newest.or(older);
                Ok(true)
            },
        )
    }

    /// Checks that the point's state, rebuilt from the current rows and the old values
    /// kept, still has the digest recorded at its creation.
    pub fn verify(&self, id: u64) -> Result<()> {
        let point = self
            .get(id)?
            .ok_or_else(|| Error::NotFound(format!("restore point {id}")))?;
        let read = self.store.begin_read()?;
        let images = before::resolve(&read.open_table(before::BEFORE)?, id)?;
        let mut d = digest::scan(&read)?;
        for ((table, key), old) in &images {
            if let Some(now) = crate::engine::catalog::get_row(&read, *table, key)? {
                d.sub_row(*table, key, &now);
            }
            if let Some(old) = old {
                d.add_row(*table, key, old);
            }
        }
        if d.finish() != point.digest {
            return Err(Error::Corrupted(format!(
                "restore point {id} ({:?}): its state's digest does not match the one recorded",
                point.label
            )));
        }
        Ok(())
    }

    /// Rolls the mutable state back to restore point `id`, keeping the audit log and the
    /// log ring, and appends an audit entry (tenant `hardstore`, action
    /// `restore_point.restore`, the given `actor`) naming the point. Durable. Points
    /// taken after it are deleted.
    pub fn restore(&self, id: u64, actor: &str) -> Result<RestoreReceipt> {
        crate::metrics::count(
            self.store,
            "restore_points",
            "restore",
            (|| {
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
                let flights = self.store.flights()?.clone();
                self.store.inner.writer.exclusive(
                    |_, _, _| Ok(()),
                    move |tx, ()| {
                        if tx.raw_txn().open_table(POINTS)?.get(id)?.is_none() {
                            return Err(Error::NotFound(format!("restore point {id}")));
                        }
                        tx.with_txn(|txn, redo| -> Result<()> {
                            // The values written back are this point's: none are kept for it.
                            redo.keep_before_images(false);
                            let images = before::resolve(&txn.open_table(before::BEFORE)?, id)?;
                            for (table, rows) in before::by_table(images) {
                                crate::engine::catalog::apply_rows_tracked(
                                    txn, redo, table, &rows,
                                )?;
                            }
                            before::drop_from(txn, redo, id + 1)?;
                            let mut points = txn.open_table(POINTS)?;
                            points.retain_in(id + 1.., |_, _| false)?;
                            // What changes from here on is after the point again.
                            redo.keep_before_images(true);
                            Ok(())
                        })?;
                        *tx.points_mut()? = Some(id);
                        if tx.digest()?.finish() != point.digest {
                            // Nothing is committed: the store stays as it was.
                            return Err(Error::Corrupted(format!(
                        "restore point {id}: the state it rebuilds does not have its digest"
                    )));
                        }
                        // A point converted from an earlier build may index Leased dead letters
                        // apart.
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
            })(),
        )
    }

    /// Writes restore point `id`'s state as a new standalone store file at `path` (which
    /// must not exist), with its own store id and no restore points; returns the rows
    /// copied. The audit log is the source's as of the point (same root); the log ring,
    /// which restores never roll back, is the source's as it is now. Reads one snapshot;
    /// writers do not wait.
    pub fn export(&self, id: u64, path: impl AsRef<std::path::Path>) -> Result<u64> {
        let path = path.as_ref();
        let point = self
            .get(id)?
            .ok_or_else(|| Error::NotFound(format!("restore point {id}")))?;
        let read = self.store.begin_read()?;
        export::write_store(&read, &point, path, &self.store.inner.opts)
    }

    /// The points that exist and the bytes of old values they keep, without the walk of
    /// every page `space` makes for the file's size (health's check). Without points no
    /// old values are kept, and none are looked for.
    pub(crate) fn held(&self) -> Result<(usize, u64)> {
        let read = self.store.begin_read()?;
        let points = redb::ReadableTableMetadata::len(&read.open_table(POINTS)?)? as usize;
        let pinned = if points == 0 {
            0
        } else {
            before::stored_bytes(&read)?
        };
        Ok((points, pinned))
    }

    /// The space the file holds, and how much of it restore points keep.
    pub fn space(&self) -> Result<RestorePointSpace> {
        let read = self.store.begin_read()?;
        let points = redb::ReadableTableMetadata::len(&read.open_table(POINTS)?)? as usize;
        let pinned = before::stored_bytes(&read)?;
        drop(read);
        let stats = self.store.inner.writer.inspect(|txn| Ok(txn.stats()?))?;
        Ok(RestorePointSpace {
            points,
            max_points: self.store.settings().get().max_restore_points,
            allocated_bytes: stats.allocated_pages() * stats.page_size() as u64,
            pinned_bytes: pinned,
        })
    }
}

impl Store {
    /// Restore points.
    pub fn restore_points(&self) -> RestorePoints<'_> {
        RestorePoints::new(self)
    }
}

/// What the writer keeps for restore points: the mutable state's digest as of the last
/// commit, and the newest point (whose generation old values are kept under).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PointsState {
    pub(crate) digest: digest::StateDigest,
    pub(crate) newest: Option<u64>,
}

/// The restore points' hooks.
pub(crate) struct RestorePointsArea;

impl crate::engine::area::Area for RestorePointsArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        // Format 2 kept points as redb savepoints: converted before anything reads.
        upgrade::convert_savepoints(ctx.db)?;
        let digest = digest::load_or_init(ctx.db)?;
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        ctx.states.insert(PointsState {
            digest,
            newest: newest(&read)?,
        });
        Ok(())
    }

    fn begin_batch(&self, states: &crate::engine::area::States, redo: &crate::redo::RedoBuf) {
        // Old values are kept only while a point needs them.
        let alive = states
            .get::<PointsState>()
            .is_ok_and(|p| p.newest.is_some());
        redo.keep_before_images(alive);
    }
}

impl crate::WriteTx<'_> {
    /// The mutable state's digest with this transaction's changes so far.
    pub(crate) fn digest(&self) -> Result<digest::StateDigest> {
        Ok(self
            .redo()
            .peek_digest(&self.state::<PointsState>()?.digest))
    }

    /// The digest as of the last commit, to add this batch's changes to.
    pub(crate) fn digest_mut(&mut self) -> Result<&mut digest::StateDigest> {
        Ok(&mut self.state_mut::<PointsState>()?.digest)
    }

    /// The newest restore point, if any.
    pub(crate) fn points(&self) -> Result<Option<u64>> {
        Ok(self.state::<PointsState>()?.newest)
    }

    /// The newest restore point, to change it (create, delete, restore).
    pub(crate) fn points_mut(&mut self) -> Result<&mut Option<u64>> {
        Ok(&mut self.state_mut::<PointsState>()?.newest)
    }
}
