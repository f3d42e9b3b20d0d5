//! Restore anywhere: a new store file from a replica's snapshot and segments, at its
//! newest batch, at a change (batch seq) or at a time.

use std::path::Path;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::replication::manifest::{self, Manifest};
use crate::replication::segment;
use crate::replication::target::Target;

/// Where a restore stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTo {
    /// Every batch the replica holds.
    Latest,
    /// Through batch `n` (a change number: the batch seq `replication_status` reports).
    Change(u64),
    /// Through the last batch committed at or before this time (µs since the epoch).
    Time(Timestamp),
}

/// What a restore from a replica wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaRestore {
    /// The manifest version it read.
    pub manifest_version: u64,
    /// The last batch it applied (the snapshot's last when none after it).
    pub last_seq: u64,
    /// Segments it applied.
    pub segments: u64,
    /// The restored audit log's size and root (it verified).
    pub audit_size: u64,
    /// See `audit_size`.
    pub audit_root: crate::Hash,
}

fn fetch(t: &Target, key: &str, bytes: u64, sum: &str) -> Result<Vec<u8>> {
    let b = t.get(key)?.ok_or_else(|| {
        Error::Corrupted(format!(
            "replica {}: {key}, in the manifest, is missing",
            t.url()
        ))
    })?;
    if b.len() as u64 != bytes || blake3::hash(&b).to_hex().as_str() != sum {
        return Err(Error::Corrupted(format!(
            "replica {}: {key} is not the object the manifest names (cut, edited or foreign)",
            t.url()
        )));
    }
    Ok(b)
}

fn store_id(m: &Manifest) -> Result<[u8; 16]> {
    let s = &m.store_id;
    let ok = s.len() == 32 && s.bytes().all(|c| c.is_ascii_hexdigit());
    let mut id = [0u8; 16];
    if ok {
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| Error::Corrupted(s.clone()))?;
        }
        return Ok(id);
    }
    Err(Error::Corrupted(format!(
        "manifest store id {s:?} is not 32 hex digits"
    )))
}

/// Writes a new store at `new_path` (which must not exist) from the replica at `url`;
/// nothing is left there unless every object verified, every batch applied and the
/// restored audit log verified.
pub fn restore(
    url: &str,
    new_path: impl AsRef<Path>,
    to: RestoreTo,
    opts: &crate::Options,
) -> Result<ReplicaRestore> {
    crate::areas::install();
    let new_path = new_path.as_ref();
    crate::backup::file::refuse_existing(new_path, "a restore")?;
    let t = Target::open(url)?;
    let m = manifest::latest(&t)?
        .ok_or_else(|| Error::NotFound(format!("a replica at {url} (no manifest)")))?;
    let id = store_id(&m)?;
    let first = m.snapshot.first_seq;
    let snapshot_last = first.saturating_sub(1);
    match to {
        RestoreTo::Change(n) if n < snapshot_last => {
            return Err(Error::InvalidArgument(format!(
                "change {n} is before the replica's snapshot: the earliest is {snapshot_last}"
            )))
        }
        RestoreTo::Time(t0) if t0 < m.snapshot.time => {
            return Err(Error::InvalidArgument(format!(
                "time {t0} is before the replica's snapshot, taken at {}",
                m.snapshot.time
            )))
        }
        _ => {}
    }
    let mut work = new_path.as_os_str().to_owned();
    work.push(".replica-partial");
    let work = std::path::PathBuf::from(work);
    let mut snap = new_path.as_os_str().to_owned();
    snap.push(".replica-snapshot");
    let snap = std::path::PathBuf::from(snap);
    let cleanup = || {
        let _ = std::fs::remove_file(&work);
        let _ = std::fs::remove_file(&snap);
    };
    cleanup();
    let done = (|| {
        let bytes = fetch(&t, &m.snapshot.key, m.snapshot.bytes, &m.snapshot.blake3)?;
        std::fs::write(&snap, bytes)?;
        crate::backup::restore(&snap, &work, opts)?;
        let _ = std::fs::remove_file(&snap);
        let db = redb::Database::open(&work)?;
        let mut last = snapshot_last;
        let mut applied = 0u64;
        'segments: for s in &m.segments {
            if let RestoreTo::Change(n) = to {
                if s.first > n {
                    break;
                }
            }
            let b = fetch(&t, &s.key, s.bytes, &s.blake3)?;
            let batches = segment::decode(&s.key, &id, &b)?;
            let txn = db.begin_write()?;
            for batch in batches {
                let past = match to {
                    RestoreTo::Latest => false,
                    RestoreTo::Change(n) => batch.seq > n,
                    RestoreTo::Time(t0) => batch.time > t0,
                };
                if past {
                    crate::restore_points::digest::forget(&txn)?;
                    txn.commit()?;
                    applied += 1;
                    break 'segments;
                }
                if batch.seq != last + 1 {
                    return Err(Error::Corrupted(format!(
                        "replica {url}: batch {} follows {last}",
                        batch.seq
                    )));
                }
                crate::redo::apply_ops_where(&txn, &batch.ops, |id| {
                    crate::engine::catalog::table(id).is_ok_and(|t| t.flags().backed_up)
                })?;
                last = batch.seq;
            }
            crate::restore_points::digest::forget(&txn)?;
            txn.commit()?;
            applied += 1;
        }
        let read = redb::ReadableDatabase::begin_read(&db)?;
        let report = crate::audit::verify_read(&read)?;
        if let (Some(seq), Some(why)) = (report.first_bad_seq, &report.problem) {
            return Err(Error::Corrupted(format!(
                "the restored audit log does not verify at entry {seq}: {why}"
            )));
        }
        drop(read);
        drop(db);
        Ok(ReplicaRestore {
            manifest_version: m.version,
            last_seq: last,
            segments: applied,
            audit_size: report.size,
            audit_root: report.root,
        })
    })();
    match done {
        Ok(r) => {
            std::fs::rename(&work, new_path)?;
            Ok(r)
        }
        Err(e) => {
            cleanup();
            Err(e)
        }
    }
}
