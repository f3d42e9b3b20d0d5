//! Full backups: a consistent online snapshot of every area, written to one
//! self-verifying file, and restored into a new store file.
//!
//! - [`Backups::full`] reads every table of the audit log, the log ring, idempotency
//!   keys, app state and dead letters from one read snapshot (writers keep going: a read
//!   transaction never blocks them) and writes each row as a frame (see `format.rs`). The
//!   file is written as `<path>.partial`, synced, and renamed only when complete, so a
//!   killed backup is never taken for a finished one.
//! - [`verify`] reads a file end to end without restoring it: a flipped bit, a cut, or
//!   bytes appended are reported as [`Error::Corrupted`] naming what failed.
//! - [`restore`] writes a new store from a backup, again through `<path>.partial`. The
//!   new store gets its own id (it is another store from then on, and no redo log of the
//!   source can ever apply to it); its audit log has the backup's size and root, which is
//!   checked before the file is renamed into place.
//!
//! Restore points are not part of a backup: they are redb savepoints of the source file.

pub(crate) mod format;

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use crate::audit::Hash;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::{Store, StoreId};

/// Most row bytes a restore holds before inserting them.
const RESTORE_BATCH: usize = 16 << 20;

/// The kind written in a full backup's header.
const KIND_FULL: u8 = 1;

/// What a verified backup file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The id of the store it was taken from.
    pub store_id: StoreId,
    /// When the snapshot was taken (the source store's clock).
    pub created: Timestamp,
    /// The audit log's size in the snapshot.
    pub audit_size: u64,
    /// The audit log's root at that size.
    pub audit_root: Hash,
    /// Rows written (one frame each).
    pub frames: u64,
    /// The file's length in bytes.
    pub bytes: u64,
    /// BLAKE3 of the file before its trailer (as the trailer records it).
    pub digest: Hash,
}

impl BackupInfo {
    fn from_summary(s: format::Summary) -> Result<Self> {
        if s.header.kind != KIND_FULL {
            return Err(Error::Corrupted(format!(
                "backup file: kind {} is not a full backup",
                s.header.kind
            )));
        }
        Ok(Self {
            store_id: StoreId(s.header.store_id),
            created: s.header.created,
            audit_size: s.header.audit_size,
            audit_root: s.header.audit_root,
            frames: s.frames,
            bytes: s.bytes,
            digest: s.digest,
        })
    }
}

/// Backups of one store.
pub struct Backups<'s> {
    store: &'s Store,
}

impl<'s> Backups<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Writes a full backup of the store, as of one snapshot, to `path` (which must not
    /// exist). Writers are not blocked while it runs.
    pub fn full(&self, path: impl AsRef<Path>) -> Result<BackupInfo> {
        let path = path.as_ref();
        refuse_existing(path, "a backup")?;
        let read = self.store.begin_read()?;
        let audit = crate::audit::tables::AuditState::load(&read)?.frontier;
        let header = format::Header {
            kind: KIND_FULL,
            store_id: self.store.id().0,
            created: self.store.clock_now(),
            audit_size: audit.size,
            audit_root: audit.root(),
        };
        let tmp = partial(path);
        let written = (|| {
            let file = File::create(&tmp)?;
            let mut w = format::FrameWriter::new(BufWriter::with_capacity(1 << 20, file), &header)?;
            for id in 0..crate::redo::TABLES.len() as u16 {
                crate::redo::for_each_row(&read, id, &mut |k, v| w.frame(id, k, v))?;
            }
            let (out, frames, bytes, digest) = w.finish()?;
            let file = out.into_inner().map_err(|e| Error::Io(e.into_error()))?;
            file.sync_all()?;
            Ok::<_, Error>((frames, bytes, digest))
        })();
        let (frames, bytes, digest) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(&tmp, path)?;
        sync_dir(path)?;
        Ok(BackupInfo {
            store_id: self.store.id(),
            created: header.created,
            audit_size: header.audit_size,
            audit_root: header.audit_root,
            frames,
            bytes,
            digest,
        })
    }
}

/// Reads the backup at `path` end to end and checks every frame and the trailer.
pub fn verify(path: impl AsRef<Path>) -> Result<BackupInfo> {
    let file = File::open(path.as_ref())?;
    BackupInfo::from_summary(format::read(
        BufReader::with_capacity(1 << 20, file),
        &mut |_, _, _| Ok(()),
    )?)
}

/// Writes a new store at `new_path` (which must not exist) holding the backup's state,
/// and returns what the backup held. Nothing is left at `new_path` unless the whole
/// file verified and the new store's audit root equals the backup's.
pub fn restore(
    backup: impl AsRef<Path>,
    new_path: impl AsRef<Path>,
    opts: &crate::Options,
) -> Result<BackupInfo> {
    let new_path = new_path.as_ref();
    refuse_existing(new_path, "a restore")?;
    let file = File::open(backup.as_ref())?;
    let tmp = partial(new_path);
    let _ = std::fs::remove_file(&tmp);
    let done = (|| {
        let db = redb::Database::create(&tmp).map_err(|e| Error::Storage(e.to_string()))?;
        crate::store::init_store(&db, opts)?;
        let txn = db.begin_write()?;
        // Frames come grouped by table: rows are gathered and inserted a table at a time
        // (at most RESTORE_BATCH bytes held), not one table open per row.
        let mut pending: (u16, crate::redo::Rows, usize) = (0, Vec::new(), 0);
        let summary = format::read(BufReader::with_capacity(1 << 20, file), &mut |t, k, v| {
            if t != pending.0 || pending.2 >= RESTORE_BATCH {
                crate::redo::put_rows(&txn, pending.0, &pending.1)?;
                pending = (t, Vec::new(), 0);
            }
            pending.1.push((k.to_vec(), v.to_vec()));
            pending.2 += k.len() + v.len();
            Ok(())
        })?;
        crate::redo::put_rows(&txn, pending.0, &pending.1)?;
        let info = BackupInfo::from_summary(summary)?;
        txn.commit()?;
        let read = redb::ReadableDatabase::begin_read(&db)?;
        let audit = crate::audit::tables::AuditState::load(&read)?.frontier;
        if audit.size != info.audit_size || audit.root() != info.audit_root {
            return Err(Error::Corrupted(format!(
                "restored audit log has {} entries and another root than the backup's {}",
                audit.size, info.audit_size
            )));
        }
        drop(read);
        drop(db);
        Ok(info)
    })();
    match done {
        Ok(info) => {
            std::fs::rename(&tmp, new_path)?;
            sync_dir(new_path)?;
            Ok(info)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn refuse_existing(path: &Path, what: &str) -> Result<()> {
    if path.exists() {
        return Err(Error::InvalidArgument(format!(
            "{} exists; {what} writes a new file",
            path.display()
        )));
    }
    Ok(())
}

fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Makes a rename durable: a file's name lives in its folder.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    File::open(dir)?.sync_all()?;
    Ok(())
}
