//! The C ABI for replication to object storage and restore anywhere.

use std::time::Duration;

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{hardstore_options, hardstore_store, HARDSTORE_MAX_PATH};
use super::{arg, guard, hardstore_result, out, str_arg};
use crate::error::Error;
use crate::replication::{ReplicateOptions, RestoreTo};

/// Restore through the replica's newest batch.
pub const HARDSTORE_RESTORE_LATEST: u32 = 0;
/// Restore through batch `value` (a change number).
pub const HARDSTORE_RESTORE_CHANGE: u32 = 1;
/// Restore through the last batch committed at or before `value` (µs since the epoch).
pub const HARDSTORE_RESTORE_TIME: u32 = 2;
/// Longest replica target URL, in bytes.
pub const HARDSTORE_LIMIT_REPLICA_URL: usize = 4096;

/// Where replication stands, from `hardstore_store_replication_status`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hardstore_replication_status {
    /// Whether this open replicates (every other field is 0 when not).
    pub replicating: bool,
    /// Whether `shipped_seq` is set (false before the first snapshot is in the replica).
    pub has_shipped: bool,
    /// The newest batch in the replica.
    pub shipped_seq: u64,
    /// The newest committed batch the shipper was given.
    pub committed_seq: u64,
    /// Batches committed but not in the replica yet.
    pub lag_batches: u64,
    /// When the oldest batch not in the replica committed (µs); 0 when none waits.
    pub oldest_unshipped: u64,
    /// Snapshots taken by this open.
    pub snapshots: u64,
    /// Segments the current manifest lists.
    pub segments: u64,
    /// Whether the last upload failed (`hardstore_replication_last_error` says why).
    pub failing: bool,
    /// Another writer published first: shipping stopped.
    pub fenced: bool,
    /// The shipper stopped.
    pub stopped: bool,
}

/// What `hardstore_replica_restore` wrote.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hardstore_replica_restore_info {
    /// The manifest version read.
    pub manifest_version: u64,
    /// The last batch applied.
    pub last_seq: u64,
    /// Segments applied.
    pub segments: u64,
    /// The restored audit log's size (it verified).
    pub audit_size: u64,
    /// Its root.
    pub audit_root: [u8; 32],
}

/// Starts replicating the store to `url` (`s3://bucket/prefix`, `gs://`, `az://`,
/// `file:///path`; settings from `AWS_*`, `GOOGLE_*`, `AZURE_*` environment variables):
/// a snapshot, then every committed batch within `lag_ms` (above 0), until the store is
/// closed. `HARDSTORE_INVALID_ARGUMENT` when it replicates already, for a bad URL, or
/// when the target holds another store's replica.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_replicate(
    store: *const hardstore_store,
    url: *const u8,
    url_len: usize,
    lag_ms: u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let u = str_arg(url, url_len, "url", HARDSTORE_LIMIT_REPLICA_URL)?;
        s.store.replicate(
            u,
            ReplicateOptions {
                lag: Duration::from_millis(lag_ms),
            },
        )?;
        Ok(())
    })
}

/// Writes where replication stands to `*out_status` (`replicating` false when this open
/// does not replicate).
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_replication_status(
    store: *const hardstore_store,
    out_status: *mut hardstore_replication_status,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_status, "out_status")?;
        *o = match s.store.replication_status() {
            None => hardstore_replication_status::default(),
            Some(r) => hardstore_replication_status {
                replicating: true,
                has_shipped: r.shipped_seq.is_some(),
                shipped_seq: r.shipped_seq.unwrap_or(0),
                committed_seq: r.committed_seq,
                lag_batches: r.lag_batches,
                oldest_unshipped: r.oldest_unshipped.unwrap_or(0),
                snapshots: r.snapshots,
                segments: r.segments,
                failing: r.last_error.is_some(),
                fenced: r.fenced,
                stopped: r.stopped,
            },
        };
        Ok(())
    })
}

/// Writes the last upload's error to a new `*out_message` (empty when the last upload
/// worked or the store does not replicate), owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn hardstore_replication_last_error(
    store: *const hardstore_store,
    out_message: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_message, "out_message")?;
        let m = s
            .store
            .replication_status()
            .and_then(|r| r.last_error)
            .unwrap_or_default();
        give_bytes(m.into_bytes(), o);
        Ok(())
    })
}

/// Waits until every batch committed so far is in the replica, at most `timeout_ms`;
/// writes whether it is to `*out_done`. `HARDSTORE_INVALID_ARGUMENT` when the store
/// does not replicate.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_wait_replicated(
    store: *const hardstore_store,
    timeout_ms: u64,
    out_done: *mut bool,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_done, "out_done")?;
        *o = s.store.wait_replicated(Duration::from_millis(timeout_ms))?;
        Ok(())
    })
}

/// Writes a new store at `new_path` (which must not exist) from the replica at `url`,
/// through `to` (`HARDSTORE_RESTORE_LATEST`, `_CHANGE` with the batch in `value`, or
/// `_TIME` with µs in `value`), created with `options` (NULL for the defaults). Nothing
/// is left at `new_path` unless every object verified and the restored audit log
/// verified. `HARDSTORE_NOT_FOUND` when there is no replica, `HARDSTORE_CORRUPTED`
/// naming the object when one is missing, cut, edited or foreign.
#[no_mangle]
pub unsafe extern "C" fn hardstore_replica_restore(
    url: *const u8,
    url_len: usize,
    new_path: *const u8,
    new_path_len: usize,
    to: u32,
    value: u64,
    options: *const hardstore_options,
    out_info: *mut hardstore_replica_restore_info,
) -> hardstore_result {
    guard(|| {
        let u = str_arg(url, url_len, "url", HARDSTORE_LIMIT_REPLICA_URL)?;
        let p = str_arg(new_path, new_path_len, "new_path", HARDSTORE_MAX_PATH)?;
        let o = out(out_info, "out_info")?;
        let to = match to {
            HARDSTORE_RESTORE_LATEST => RestoreTo::Latest,
            HARDSTORE_RESTORE_CHANGE => RestoreTo::Change(value),
            HARDSTORE_RESTORE_TIME => RestoreTo::Time(value),
            t => {
                return Err(Error::InvalidArgument(format!(
                    "restore target {t} is not HARDSTORE_RESTORE_LATEST, _CHANGE or _TIME"
                ))
                .into())
            }
        };
        let defaults = crate::Options::new();
        let opts = if options.is_null() {
            &defaults
        } else {
            &arg(options, "options")?.inner
        };
        let r = crate::replication::restore(u, p, to, opts)?;
        *o = hardstore_replica_restore_info {
            manifest_version: r.manifest_version,
            last_seq: r.last_seq,
            segments: r.segments,
            audit_size: r.audit_size,
            audit_root: r.audit_root,
        };
        Ok(())
    })
}
