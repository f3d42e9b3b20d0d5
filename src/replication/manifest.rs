//! The manifest: what a replica holds, so a restore needs no LIST.
//!
//! Every change publishes a new version `manifest/<version, 20 digits>.json`, created
//! only if absent (`PutMode::Create`, which every `object_store` backend has): two
//! writers can never both publish the same version, so the one that loses the race is
//! fenced. `manifest/latest` names the newest version; it is a hint, written after the
//! version, so a reader reads it and then probes the following versions until one is
//! missing (a crash between the two writes leaves it one behind, never ahead).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::replication::target::Target;

/// The manifest format written here.
pub(crate) const FORMAT: u32 = 1;
const LATEST: &str = "manifest/latest";

/// A snapshot: a full backup file of the store, holding every batch below `first_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    /// Its object key under the target.
    pub key: String,
    /// The first batch it does not hold.
    pub first_seq: u64,
    /// When it was taken (µs since the epoch).
    pub time: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// BLAKE3 of its bytes, hex.
    pub blake3: String,
}

/// A segment: the batches `first..=last`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    /// Its object key under the target.
    pub key: String,
    /// Its first batch.
    pub first: u64,
    /// Its last batch.
    pub last: u64,
    /// When its last batch committed (µs since the epoch).
    pub last_time: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// BLAKE3 of its bytes, hex.
    pub blake3: String,
}

/// One version of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// This version's number, from 1.
    pub version: u64,
    /// The source store's id, hex.
    pub store_id: String,
    /// The replicating session that published it (random, hex).
    pub writer: String,
    /// The snapshot restores start from.
    pub snapshot: SnapshotRef,
    /// The segments after it, in order, consecutive from its `first_seq`.
    pub segments: Vec<SegmentRef>,
}

fn version_key(v: u64) -> String {
    format!("manifest/{v:020}.json")
}

fn parse(t: &Target, key: &str, bytes: &[u8]) -> Result<Manifest> {
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| {
        Error::Corrupted(format!("replica {}: {key} is not a manifest: {e}", t.url()))
    })?;
    if m.format != FORMAT {
        return Err(Error::Corrupted(format!(
            "replica {}: {key} is manifest format {}; this build reads {FORMAT}",
            t.url(),
            m.format
        )));
    }
    Ok(m)
}

/// The newest manifest, or `None` for an empty target. No LIST: the hint, then probes.
pub(crate) fn latest(t: &Target) -> Result<Option<Manifest>> {
    let mut v = match t.get(LATEST)? {
        Some(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                Error::Corrupted(format!("replica {}: {LATEST} is not a number", t.url()))
            })?,
        None => 0,
    };
    let mut found = None;
    if v > 0 {
        let key = version_key(v);
        let b = t.get(&key)?.ok_or_else(|| {
            Error::Corrupted(format!(
                "replica {}: {key}, named by {LATEST}, is missing",
                t.url()
            ))
        })?;
        found = Some(parse(t, &key, &b)?);
    }
    loop {
        let key = version_key(v + 1);
        match t.get(&key)? {
            Some(b) => {
                found = Some(parse(t, &key, &b)?);
                v += 1;
            }
            None => return Ok(found),
        }
    }
}

/// Publishes `m` as its version; `Fenced` when that version exists already (another
/// writer published it).
pub(crate) fn publish(t: &Target, m: &Manifest) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(m)
        .map_err(|e| Error::Storage(format!("a manifest as JSON: {e}")))?;
    let key = version_key(m.version);
    if !t.create(&key, bytes)? {
        // Ours after all when it is what we wrote (a create whose answer was lost).
        let ours = t
            .get(&key)?
            .and_then(|b| parse(t, &key, &b).ok())
            .is_some_and(|theirs| theirs == *m);
        if ours {
            return t.put(LATEST, m.version.to_string().into_bytes());
        }
        return Err(Error::Fenced(format!(
            "replica {}: manifest version {} was published by another writer",
            t.url(),
            m.version
        )));
    }
    t.put(LATEST, m.version.to_string().into_bytes())
}
