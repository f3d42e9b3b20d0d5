//! Chains: a full backup, then each backup built on the one before it.
//!
//! A link is accepted only if it comes from the same store and names the previous link
//! as its base, by catalog id and by digest, and its covered range starts where the
//! previous one's ends. A differential can only follow its full backup directly. So a
//! missing link, a wrong order, or a file of another chain is reported naming the link.

use std::io::ErrorKind;
use std::path::Path;

use super::format::Header;
use super::{file, BackupInfo, BackupKey, BackupKind};
use crate::error::{Error, Result};

/// Most row bytes a restore holds before writing them to the new store.
const RESTORE_BATCH: usize = 16 << 20;

/// Checks that `h`, link `i` of a chain, follows `prev` (the link before it, verified).
fn check_link(i: usize, prev: Option<&BackupInfo>, h: &Header) -> Result<()> {
    let kind = BackupKind::from_code(h.kind)?;
    let bad = |what: String| {
        Err(Error::InvalidArgument(format!(
            "backup chain: link {i} {what}"
        )))
    };
    match prev {
        None if kind != BackupKind::Full => bad(format!(
            "(backup {}) is {}; a chain starts with a full backup",
            h.backup_id,
            kind.name()
        )),
        None => Ok(()),
        Some(_) if kind == BackupKind::Full => bad(format!(
            "(backup {}) is a full backup; only the first link may be",
            h.backup_id
        )),
        Some(p) if p.store_id.0 != h.store_id => {
            bad(format!("(backup {}) is of another store", h.backup_id))
        }
        Some(p) if kind == BackupKind::Differential && p.kind != BackupKind::Full => bad(format!(
            "(backup {}) is a differential; it must directly follow its full backup",
            h.backup_id
        )),
        Some(p)
            if h.base_id != p.backup_id
                || h.base_digest != p.digest
                || h.covered_from != p.covered_to =>
        {
            bad(format!(
                "(backup {}) is based on backup {}, but link {} is backup {}: a link is missing or out of order",
                h.backup_id,
                h.base_id,
                i - 1,
                p.backup_id
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Reads link `i` of a chain (`prev` is the link before it) and applies its rows to
/// `txn`. A thread reads, checks and decodes the file while this one writes the rows:
/// frames come grouped by table, and are handed over a table at a time in batches of at
/// most RESTORE_BATCH bytes.
fn read_into(
    txn: &redb::WriteTransaction,
    path: &Path,
    key: Option<&BackupKey>,
    i: usize,
    prev: Option<&BackupInfo>,
) -> Result<(super::format::Summary, Option<u32>)> {
    type Batch = (u16, crate::engine::redo::RowOps);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut pending: (u16, crate::engine::redo::RowOps, usize) = (0, Vec::new(), 0);
            let stopped = || Error::Storage("the restore stopped writing rows".into());
            let out = file::read(
                path,
                key,
                &mut |h| check_link(i, prev, h),
                &mut |t, k, v| {
                    if t != pending.0 || pending.2 >= RESTORE_BATCH {
                        let full = std::mem::replace(&mut pending, (t, Vec::new(), 0));
                        tx.send((full.0, full.1)).map_err(|_| stopped())?;
                    }
                    pending.1.push((k.to_vec(), v.map(<[u8]>::to_vec)));
                    pending.2 += k.len() + v.map_or(0, <[u8]>::len);
                    Ok(())
                },
            )?;
            tx.send((pending.0, pending.1)).map_err(|_| stopped())?;
            Ok(out)
        });
        let mut applied = Ok(());
        for (t, rows) in rx.iter() {
            applied = crate::engine::catalog::apply_rows(txn, t, &rows);
            if applied.is_err() {
                break;
            }
        }
        // Dropping the receiver (on a failed write) stops the reader at its next send.
        drop(rx);
        let read = reader
            .join()
            .map_err(|_| Error::Panicked("the backup reader thread panicked".into()))?;
        applied?;
        read
    })
}

/// Reads every file of a chain (first the full backup) end to end without restoring:
/// each file's frames and digest, and every link's base. Returns what each file holds.
pub fn verify_chain<P: AsRef<Path>>(
    chain: &[P],
    key: Option<&BackupKey>,
) -> Result<Vec<BackupInfo>> {
    // Read without a store: the table ids a frame may name come from the catalog.
    crate::areas::install();
    if chain.is_empty() {
        return Err(Error::InvalidArgument("the backup chain is empty".into()));
    }
    let mut out: Vec<BackupInfo> = Vec::with_capacity(chain.len());
    for (i, path) in chain.iter().enumerate() {
        let prev = out.last().cloned();
        let (s, key_id) = file::read(
            path.as_ref(),
            key,
            &mut |h| check_link(i, prev.as_ref(), h),
            &mut |_, _, _| Ok(()),
        )?;
        out.push(BackupInfo::from_summary(s, key_id)?);
    }
    Ok(out)
}

/// Writes a new store at `new_path` (which must not exist) equal to the source as of the
/// last backup of `chain` (a full backup, then each backup built on the one before), and
/// returns what that last backup holds.
///
/// Nothing is left at `new_path` unless every file verified, every link matched, and the
/// new store's audit log has the last backup's size and root. The new store has its own
/// id, no restore points and an empty backup catalog.
pub fn restore_chain<P: AsRef<Path>>(
    chain: &[P],
    new_path: impl AsRef<Path>,
    opts: &crate::Options,
    key: Option<&BackupKey>,
) -> Result<BackupInfo> {
    // Read without a store: the table ids a frame may name come from the catalog.
    crate::areas::install();
    let new_path = new_path.as_ref();
    if chain.is_empty() {
        return Err(Error::InvalidArgument("the backup chain is empty".into()));
    }
    file::refuse_existing(new_path, "a restore")?;
    for p in chain {
        // Fail on a missing file before creating anything.
        if let Err(e) = std::fs::metadata(p.as_ref()) {
            return Err(if e.kind() == ErrorKind::NotFound {
                Error::NotFound(format!("backup file {}", p.as_ref().display()))
            } else {
                e.into()
            });
        }
    }
    let tmp = file::partial(new_path);
    let _ = std::fs::remove_file(&tmp);
    let done = (|| {
        let db = redb::Database::create(&tmp)?;
        // BLAKE3 until the backup's own row says otherwise (one taken before the row
        // existed is of a BLAKE3 store).
        let opts = opts.clone().audit_hash(crate::audit::AuditHash::Blake3);
        crate::store::init_store(&db, &opts)?;
        let txn = db.begin_write()?;
        let mut last: Option<BackupInfo> = None;
        for (i, path) in chain.iter().enumerate() {
            let prev = last.clone();
            let (s, key_id) = read_into(&txn, path.as_ref(), key, i, prev.as_ref())?;
            last = Some(BackupInfo::from_summary(s, key_id)?);
        }
        let info =
            last.ok_or_else(|| Error::InvalidArgument("the backup chain is empty".into()))?;
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
            file::publish(&tmp, new_path)?;
            Ok(info)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
