//! Backups: full, incremental and differential files of every area, self-verifying,
//! optionally encrypted, cataloged in the store, pruned by retention, run on a schedule.
//!
//! - A **full** backup holds every row of the audit log, the log ring, idempotency keys,
//!   app state and dead letters, read from one snapshot (a read transaction never blocks
//!   writers). An **incremental** holds the rows changed since the previous backup of any
//!   kind, a **differential** those changed since the last full, as puts and deletes. The
//!   change journal (`journal.rs`) says which rows changed: from the first cataloged full
//!   on, every batch lists the keys it touched, in the same commit.
//! - Every file is written as `<path>.partial`, synced, and renamed only when complete,
//!   so a killed backup is never taken for a finished one. See `format.rs` for the layout
//!   (a CRC32 per frame, a BLAKE3 digest in the trailer) and `crypto.rs` for the optional
//!   AES-256-GCM sealing.
//! - [`Backups::run`] writes into a folder and catalogs the run ([`BackupRecord`]);
//!   [`Backups::full`] writes one standalone file outside the catalog.
//! - [`verify_chain`] checks files (and their order) without restoring; [`restore_chain`]
//!   writes a new store equal to the source as of the chain's last backup, and checks its
//!   audit root before renaming it into place. The new store gets its own id (no redo log
//!   of the source can ever apply to it).
//!
//! Restore points, the change journal and the catalog are not part of a backup: they
//! describe the source file, not the data.

pub(crate) mod catalog;
mod chain;
pub(crate) mod crypto;
pub(crate) mod file;
pub(crate) mod format;
pub(crate) mod journal;
mod retention;
mod schedule;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use catalog::{BackupKind, BackupRecord, BackupResult};
pub use chain::{restore_chain, verify_chain};
pub use crypto::BackupKey;
pub use retention::Retention;
pub use schedule::{Schedule, ScheduleHandle};

use crate::audit::Hash;
use crate::clock::Timestamp;
use crate::engine::catalog::{CatalogTable, Flags, Table};
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::{Store, StoreId};

/// The backup module's own tables in the catalog: in no backup themselves.
pub(crate) static TABLES: [&dyn CatalogTable; 3] = [
    &Table::new(16, journal::CHANGES, Flags::INTERNAL),
    &Table::new(17, catalog::CATALOG, Flags::INTERNAL),
    &Table::new(18, journal::META, Flags::INTERNAL),
];

/// Called with (bytes done, bytes total) while a backup is written. The total is an
/// estimate taken before the copy (redb's count of stored bytes); the last call has
/// `done == total`.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// How a backup is written.
#[derive(Clone, Default)]
pub struct BackupOptions {
    /// Encrypt the file with this key (AES-256-GCM).
    pub key: Option<BackupKey>,
    /// Progress reports while the file is written.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for BackupOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupOptions")
            .field("key", &self.key)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What a verified backup file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// Full, incremental or differential.
    pub kind: BackupKind,
    /// The id of the store it was taken from.
    pub store_id: StoreId,
    /// Its catalog id (0 for a standalone full backup).
    pub backup_id: u64,
    /// The catalog id of the backup it builds on (`None` for a full one).
    pub base_id: Option<u64>,
    /// That backup's digest.
    pub base_digest: Option<Hash>,
    /// When the snapshot was taken (the source store's clock).
    pub created: Timestamp,
    /// The change numbers it holds: `covered_from..covered_to`.
    pub covered_from: u64,
    /// See `covered_from`.
    pub covered_to: u64,
    /// The audit log's size in the snapshot.
    pub audit_size: u64,
    /// The audit log's root at that size.
    pub audit_root: Hash,
    /// Frames (rows put or deleted).
    pub frames: u64,
    /// The plain stream's length in bytes (the file's, unless encrypted).
    pub bytes: u64,
    /// BLAKE3 of the plain stream before its trailer (as the trailer records it).
    pub digest: Hash,
    /// The id of the key it is encrypted with.
    pub key_id: Option<u32>,
}

impl BackupInfo {
    fn from_summary(s: format::Summary, key_id: Option<u32>) -> Result<Self> {
        let h = s.header;
        let kind = BackupKind::from_code(h.kind)?;
        let full = kind == BackupKind::Full;
        Ok(Self {
            kind,
            store_id: StoreId(h.store_id),
            backup_id: h.backup_id,
            base_id: (!full).then_some(h.base_id),
            base_digest: (!full).then_some(h.base_digest),
            created: h.created,
            covered_from: h.covered_from,
            covered_to: h.covered_to,
            audit_size: h.audit_size,
            audit_root: h.audit_root,
            frames: s.frames,
            bytes: s.bytes,
            digest: s.digest,
            key_id,
        })
    }
}

/// Share of successful runs over a window ([`Backups::success_rate`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuccessRate {
    /// Runs that ended `Ok`.
    pub ok: u64,
    /// Runs that failed or were interrupted.
    pub failed: u64,
    /// `ok / (ok + failed)`, 1.0 when there were none.
    pub rate: f64,
}

/// Backups of one store.
pub struct Backups<'s> {
    store: &'s Store,
}

impl<'s> Backups<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Writes a standalone full backup, as of one snapshot, to `path` (which must not
    /// exist), outside the catalog. Writers are not blocked while it runs.
    pub fn full(&self, path: impl AsRef<Path>) -> Result<BackupInfo> {
        self.full_with(path, &BackupOptions::default())
    }

    /// [`Backups::full`] with a key and a progress callback.
    pub fn full_with(&self, path: impl AsRef<Path>, opts: &BackupOptions) -> Result<BackupInfo> {
        let read = self.store.begin_read()?;
        self.full_from(read, path, opts)
    }

    /// A full backup of the state `read` sees (uncataloged, as [`Backups::full`]).
    pub(crate) fn full_from(
        &self,
        read: redb::ReadTransaction,
        path: impl AsRef<Path>,
        opts: &BackupOptions,
    ) -> Result<BackupInfo> {
        let header = self.header(&read, BackupKind::Full, 0, None, 0)?;
        let w = file::write(
            &read,
            &header,
            &file::Rows::All,
            path.as_ref(),
            opts.key.as_ref(),
            opts.progress.as_ref(),
        )?;
        Ok(BackupInfo {
            kind: BackupKind::Full,
            store_id: self.store.id(),
            backup_id: 0,
            base_id: None,
            base_digest: None,
            created: header.created,
            covered_from: 0,
            covered_to: header.covered_to,
            audit_size: header.audit_size,
            audit_root: header.audit_root,
            frames: w.frames,
            bytes: w.bytes,
            digest: w.digest,
            key_id: opts.key.as_ref().map(BackupKey::id),
        })
    }

    fn header(
        &self,
        read: &redb::ReadTransaction,
        kind: BackupKind,
        id: u64,
        base: Option<&BackupRecord>,
        covered_to: u64,
    ) -> Result<format::Header> {
        let audit = crate::audit::tables::AuditState::load(read)?.frontier;
        Ok(format::Header {
            kind: kind.code(),
            store_id: self.store.id().0,
            backup_id: id,
            base_id: base.map_or(0, |b| b.id),
            base_digest: base.and_then(|b| b.digest).unwrap_or_default(),
            created: self.store.clock_now(),
            covered_from: base.map_or(0, |b| b.covered_to),
            covered_to,
            audit_size: audit.size,
            audit_root: audit.root(),
        })
    }

    /// Takes a backup of kind `kind` into `folder` (created if missing) and catalogs it.
    ///
    /// An incremental builds on the latest successful backup, a differential on the
    /// latest successful full one; either is promoted to a full backup when there is no
    /// such base, its file is gone, or the change journal no longer reaches back to it
    /// (after a restore-point restore). The returned record says what was written. A
    /// run that fails once begun is cataloged as failed, leaves no file, and its error is
    /// returned; one refused before it began (an empty folder path, a folder that cannot
    /// be created) is not cataloged.
    pub fn run(
        &self,
        kind: BackupKind,
        folder: impl AsRef<Path>,
        opts: &BackupOptions,
    ) -> Result<BackupRecord> {
        crate::metrics::count(
            self.store,
            "backups",
            "run",
            (|| {
                let folder = folder.as_ref().to_path_buf();
                file::check_path(&folder, "a backup run")?;
                if folder.to_str().is_none() {
                    return Err(Error::InvalidArgument(
                        "the backup folder's path is not UTF-8".into(),
                    ));
                }
                let _one_at_a_time = self.store.shared::<BackupLock>()?.0.lock();
                std::fs::create_dir_all(&folder)?;
                // The catalog keeps absolute paths: a relative one would depend on the caller's
                // working directory.
                let folder = std::fs::canonicalize(&folder)?;
                // A run still `Running` was cut off by a crash. Its file, even if it got as far
                // as its final name, was never recorded as complete: it goes, before the run is
                // marked interrupted (a crash in between leaves it `Running` for the next run).
                for r in catalog::list(&self.store.begin_read()?)? {
                    if r.result == BackupResult::Running {
                        remove_if_present(r.path())?;
                        remove_if_present(&file::partial(r.path()))?;
                    }
                }
                let started = self.store.clock_now();
                let key_id = opts.key.as_ref().map(BackupKey::id);
                let tag = self.tag();
                let mut rec = {
                    let (folder, tag) = (folder.clone(), tag.clone());
                    self.store.write(Durability::Durable, move |tx| {
                        catalog::begin_run(tx, kind, &folder, &tag, started, key_id)
                    })?
                };
                let outcome = self.write_run(&mut rec, &folder, &tag, opts);
                rec.ended = Some(self.store.clock_now());
                match &outcome {
                    Ok(()) => rec.result = BackupResult::Ok,
                    Err(e) => {
                        rec.result = BackupResult::Failed;
                        rec.error = Some(e.to_string());
                    }
                }
                let done = rec.clone();
                self.store
                    .write(Durability::Durable, move |tx| catalog::put(tx, &done))?;
                outcome?;
                if rec.kind == BackupKind::Full {
                    // No later backup can build on anything older: its journal rows can go, a
                    // bounded batch at a time.
                    let below = rec.covered_to;
                    while self.store.write(Durability::Buffered, move |tx| {
                        tx.with_txn(|txn, redo| journal::prune(txn, redo, below))
                    })? {}
                }
                Ok(rec)
            })(),
        )
    }

    fn tag(&self) -> String {
        self.store.id().0[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Writes the file of the run `rec` (begun by `catalog::begin_run`) and fills in
    /// what it wrote.
    fn write_run(
        &self,
        rec: &mut BackupRecord,
        folder: &Path,
        tag: &str,
        opts: &BackupOptions,
    ) -> Result<()> {
        let read = self.store.begin_read()?;
        let covered_to = journal::next_change(&read)?
            .ok_or_else(|| Error::Storage("change tracking is off during a backup".into()))?;
        let floor = journal::floor(&read)?.unwrap_or(u64::MAX);
        let base = match rec.base {
            Some(b) => catalog::get(&read, b)?.filter(|b| floor <= b.covered_to),
            None => None,
        };
        if base.is_none() && rec.kind != BackupKind::Full {
            // A restore-point restore reset the journal since the run began.
            rec.kind = BackupKind::Full;
            rec.base = None;
            rec.file = catalog::file_name(folder, tag, rec.id, rec.kind)?;
            let fixed = rec.clone();
            self.store
                .write(Durability::Durable, move |tx| catalog::put(tx, &fixed))?;
        }
        let rows = match &base {
            Some(b) => file::Rows::Touched(journal::touched(&read, b.covered_to, covered_to)?),
            None => file::Rows::All,
        };
        let header = self.header(&read, rec.kind, rec.id, base.as_ref(), covered_to)?;
        let w = file::write(
            &read,
            &header,
            &rows,
            rec.path(),
            opts.key.as_ref(),
            opts.progress.as_ref(),
        )?;
        rec.bytes = w.bytes;
        rec.entries = w.frames;
        rec.digest = Some(w.digest);
        rec.covered_from = header.covered_from;
        rec.covered_to = covered_to;
        rec.audit_size = header.audit_size;
        Ok(())
    }

    /// Every cataloged run, oldest first. A run left `Running` by a process that
    /// stopped is reported as `Interrupted`.
    pub fn list(&self) -> Result<Vec<BackupRecord>> {
        let idle = self.store.shared::<BackupLock>()?.0.try_lock();
        let mut all = catalog::list(&self.store.begin_read()?)?;
        if idle.is_some() {
            for r in all.iter_mut().filter(|r| r.result == BackupResult::Running) {
                r.result = BackupResult::Interrupted;
            }
        }
        Ok(all)
    }

    /// The cataloged run `id`.
    pub fn get(&self, id: u64) -> Result<BackupRecord> {
        self.list()?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::NotFound(format!("backup {id}")))
    }

    /// The files to restore backup `id`, in order: its full backup first, then each
    /// backup built on the one before, ending with `id`.
    pub fn chain(&self, id: u64) -> Result<Vec<PathBuf>> {
        let all = self.list()?;
        let mut out = Vec::new();
        let mut next = Some(id);
        while let Some(id) = next {
            let r = all
                .iter()
                .find(|r| r.id == id)
                .ok_or_else(|| Error::NotFound(format!("backup {id} (a link of the chain)")))?;
            if r.result != BackupResult::Ok {
                return Err(Error::InvalidArgument(format!(
                    "backup {id} did not complete ({:?})",
                    r.result
                )));
            }
            out.push(r.path().to_path_buf());
            next = r.base;
        }
        out.reverse();
        Ok(out)
    }

    /// Successful and failed runs among those started at or after `since`.
    pub fn success_rate(&self, since: Timestamp) -> Result<SuccessRate> {
        let (mut ok, mut failed) = (0, 0);
        for r in self.list()?.iter().filter(|r| r.started >= since) {
            match r.result {
                BackupResult::Ok => ok += 1,
                BackupResult::Failed | BackupResult::Interrupted => failed += 1,
                BackupResult::Running => {}
            }
        }
        let rate = if ok + failed == 0 {
            1.0
        } else {
            ok as f64 / (ok + failed) as f64
        };
        Ok(SuccessRate { ok, failed, rate })
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Reads the backup at `path` end to end and checks every frame and the trailer. An
/// encrypted backup needs [`verify_with`].
pub fn verify(path: impl AsRef<Path>) -> Result<BackupInfo> {
    verify_with(path, None)
}

/// [`verify`], decrypting with `key` when the file is encrypted.
pub fn verify_with(path: impl AsRef<Path>, key: Option<&BackupKey>) -> Result<BackupInfo> {
    // Read without a store: the table ids a frame may name come from the catalog.
    crate::areas::install();
    let (s, key_id) = file::read(path.as_ref(), key, &mut |_| Ok(()), &mut |_, _, _| Ok(()))?;
    BackupInfo::from_summary(s, key_id)
}

/// Writes a new store at `new_path` (which must not exist) from one full backup; see
/// [`restore_chain`].
pub fn restore(
    backup: impl AsRef<Path>,
    new_path: impl AsRef<Path>,
    opts: &crate::Options,
) -> Result<BackupInfo> {
    restore_chain(&[backup.as_ref()], new_path, opts, None)
}

impl Store {
    /// Backups: full, incremental and differential, the catalog, retention and the
    /// schedule (see [`crate::backup`]).
    pub fn backups(&self) -> Backups<'_> {
        Backups::new(self)
    }
}

/// The next change-journal number while backups track changes (`journal.rs`), kept by
/// the writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Changes(pub(crate) Option<u64>);

/// Held while a cataloged backup runs: one at a time per store.
pub(crate) struct BackupLock(pub(crate) parking_lot::Mutex<()>);

/// The backups' hooks.
pub(crate) struct BackupArea;

impl crate::engine::area::Area for BackupArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        ctx.states.insert(Changes(journal::next_change(&read)?));
        ctx.shared
            .insert(Arc::new(BackupLock(parking_lot::Mutex::new(()))));
        Ok(())
    }
}

impl crate::WriteTx<'_> {
    /// The next change-journal number (`None`: change tracking is off).
    pub(crate) fn changes_mut(&mut self) -> Result<&mut Option<u64>> {
        Ok(&mut self.state_mut::<Changes>()?.0)
    }
}
