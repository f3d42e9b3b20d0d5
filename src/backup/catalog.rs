//! The catalog: one row per backup run, inside the store (`backup.catalog`).
//!
//! A run is cataloged as `Running` before its file is written and updated once it ends,
//! so a run killed part-way is visible: the next run marks it `Interrupted`, and until
//! then [`crate::backup::Backups::list`] reports it so when no run is in progress.

use std::path::{Path, PathBuf};

use redb::{ReadTransaction, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::journal;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::tx::WriteTx;

/// Catalog id → a postcard-encoded [`BackupRecord`].
pub(crate) const CATALOG: TableDefinition<u64, &[u8]> = TableDefinition::new("backup.catalog");
const NEXT_ID: &str = "next_id";

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupKind {
    /// Every row of every area.
    Full,
    /// The rows changed since the previous backup of any kind.
    Incremental,
    /// The rows changed since the last full backup.
    Differential,
}

impl BackupKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            BackupKind::Full => 1,
            BackupKind::Incremental => 2,
            BackupKind::Differential => 3,
        }
    }

    pub(crate) fn from_code(c: u8) -> Result<Self> {
        match c {
            1 => Ok(BackupKind::Full),
            2 => Ok(BackupKind::Incremental),
            3 => Ok(BackupKind::Differential),
            k => Err(Error::Corrupted(format!("backup kind {k}"))),
        }
    }

    /// `full`, `incremental` or `differential`.
    pub fn name(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incremental => "incremental",
            BackupKind::Differential => "differential",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupResult {
    /// In progress (or, when no run is in progress, see `Interrupted`).
    Running,
    /// The file was written, synced and renamed into place.
    Ok,
    /// The run failed; `error` says why. No file was left.
    Failed,
    /// The process stopped during the run (a crash or a kill); no file was left.
    Interrupted,
}

/// One backup run, as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// The run's id (also written in the file's header).
    pub id: u64,
    /// What the file holds (a run asked for as incremental or differential is promoted
    /// to full when there is no usable base).
    pub kind: BackupKind,
    /// The backup this one is based on (`None` for a full one).
    pub base: Option<u64>,
    /// The backup file.
    pub file: String,
    /// When the run started (the store's clock).
    pub started: Timestamp,
    /// When it ended.
    pub ended: Option<Timestamp>,
    /// The file's length.
    pub bytes: u64,
    /// Frames written (rows put or deleted).
    pub entries: u64,
    /// BLAKE3 of the file before its trailer.
    pub digest: Option<[u8; 32]>,
    /// How the run ended.
    pub result: BackupResult,
    /// Why it failed.
    pub error: Option<String>,
    /// Change numbers `covered_from..covered_to` are in the file (see `journal.rs`).
    pub covered_from: u64,
    /// See `covered_from`.
    pub covered_to: u64,
    /// The audit log's size in the backup.
    pub audit_size: u64,
    /// The id of the key the file is encrypted with.
    pub key_id: Option<u32>,
}

impl BackupRecord {
    /// The backup file's path.
    pub fn path(&self) -> &Path {
        Path::new(&self.file)
    }
}

/// The file of run `id`: `<folder>/hs-<store id prefix>-<id>-<kind>.hsb`.
pub(crate) fn file_name(
    folder: &Path,
    store_tag: &str,
    id: u64,
    kind: BackupKind,
) -> Result<String> {
    let file: PathBuf = folder.join(format!("hs-{store_tag}-{id:08}-{}.hsb", kind.name()));
    file.to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidArgument("the backup folder's path is not UTF-8".into()))
}

/// Every cataloged run, oldest first.
pub(crate) fn list(read: &ReadTransaction) -> Result<Vec<BackupRecord>> {
    let t = read.open_table(CATALOG)?;
    let mut out = Vec::new();
    for row in t.range(0..)? {
        out.push(crate::codec::decode(row?.1.value())?);
    }
    Ok(out)
}

pub(crate) fn get(read: &ReadTransaction, id: u64) -> Result<Option<BackupRecord>> {
    let t = read.open_table(CATALOG)?;
    let v = t.get(id)?;
    v.map(|v| crate::codec::decode(v.value())).transpose()
}

pub(crate) fn put(tx: &mut WriteTx<'_>, rec: &BackupRecord) -> Result<()> {
    let bytes = crate::codec::encode(rec)?;
    tx.tracked(CATALOG)?.insert(rec.id, bytes.as_slice())?;
    Ok(())
}

/// Starts a run inside a write: marks runs left `Running` as interrupted, picks the
/// base (promoting to full when there is none usable), turns change tracking on for a
/// full, and catalogs the run as `Running`.
pub(crate) fn begin_run(
    tx: &mut WriteTx<'_>,
    asked: BackupKind,
    folder: &Path,
    store_tag: &str,
    started: Timestamp,
    key_id: Option<u32>,
) -> Result<BackupRecord> {
    let mut all = Vec::new();
    {
        let t = tx.tracked(CATALOG)?;
        for row in t.range(0..)? {
            all.push(crate::codec::decode::<BackupRecord>(row?.1.value())?);
        }
    }
    for r in all.iter_mut().filter(|r| r.result == BackupResult::Running) {
        r.result = BackupResult::Interrupted;
        r.error = Some("the process stopped during the run".into());
        put(tx, r)?;
    }
    let floor = tx
        .tracked(journal::META)?
        .get(journal::FLOOR)?
        .map(|v| v.value());
    let base = match asked {
        BackupKind::Full => None,
        BackupKind::Incremental => all.iter().rev().find(|r| r.result == BackupResult::Ok),
        BackupKind::Differential => all
            .iter()
            .rev()
            .find(|r| r.result == BackupResult::Ok && r.kind == BackupKind::Full),
    }
    .filter(|b| floor.is_some_and(|f| f <= b.covered_to) && b.path().is_file());
    let (kind, base) = match base {
        Some(b) => (asked, Some(b.id)),
        None => (BackupKind::Full, None),
    };
    if kind == BackupKind::Full {
        let next = *tx.changes_mut()?;
        let n = tx.with_txn(|txn, redo| journal::start(txn, redo, next))?;
        *tx.changes_mut()? = Some(n);
    }
    let id = {
        let mut meta = tx.tracked(journal::META)?;
        let id = meta.get(NEXT_ID)?.map_or(1, |v| v.value());
        meta.insert(NEXT_ID, id + 1)?;
        id
    };
    let rec = BackupRecord {
        id,
        kind,
        base,
        file: file_name(folder, store_tag, id, kind)?,
        started,
        ended: None,
        bytes: 0,
        entries: 0,
        digest: None,
        result: BackupResult::Running,
        error: None,
        covered_from: 0,
        covered_to: 0,
        audit_size: 0,
        key_id,
    };
    put(tx, &rec)?;
    Ok(rec)
}
