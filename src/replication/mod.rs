//! Continuous replication to object storage, and restore anywhere from it.
//!
//! `store.replicate(url)` ships every committed batch's changes (the redo log's physical
//! puts and deletes) as checksummed segment files, after a snapshot in the full backup
//! format, to `s3://`, `gs://`, `az://` or `file://` (the `object_store` crate), and
//! publishes a manifest version after each upload, so a restore reads the manifest and
//! the objects it names, never a LIST. [`restore`] writes a new store from a replica at
//! its newest batch, at a change or at a time; the restored audit log verifies, with the
//! source's root at that point.
//!
//! What it guarantees:
//! - A batch acknowledged by [`Store::wait_replicated`] (or `replication_status` showing
//!   it shipped) is in the replica: its segment was uploaded and a manifest naming it
//!   published.
//! - A failing target never blocks or fails the store's writes: batches queue (up to
//!   256 MiB, then a new snapshot replaces them) and the upload is retried each lag
//!   interval; `replication_status` reports the lag and the last error.
//! - Two writers never both publish: a manifest version is created only if absent, and
//!   the loser stops, fenced.
//!
//! Not here yet: encryption of segments, hierarchical compaction (a new snapshot
//! replaces 1,000 segments instead), retention of older generations, read replicas.

mod manifest;
pub(crate) mod restore;
pub(crate) mod segment;
mod shipper;
mod target;

use std::sync::Arc;
use std::time::Duration;

pub use manifest::{Manifest, SegmentRef, SnapshotRef};
pub use restore::{restore, ReplicaRestore, RestoreTo};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::Store;

/// The newest manifest of the replica at `url` (`None` when it holds none). Reads only.
pub fn inspect(url: &str) -> Result<Option<Manifest>> {
    manifest::latest(&target::Target::open(url)?)
}

/// How a store replicates (see [`Store::replicate`]).
#[derive(Debug, Clone)]
pub struct ReplicateOptions {
    /// How long a committed batch may wait before its segment is uploaded (default 1 s).
    pub lag: Duration,
}

impl Default for ReplicateOptions {
    fn default() -> Self {
        ReplicateOptions {
            lag: Duration::from_secs(1),
        }
    }
}

/// Where replication stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationStatus {
    /// The target's URL.
    pub target: String,
    /// The newest batch in the replica (`None` before the first snapshot).
    pub shipped_seq: Option<u64>,
    /// The newest committed batch the shipper was given.
    pub committed_seq: u64,
    /// Batches committed but not in the replica yet.
    pub lag_batches: u64,
    /// When the oldest batch not in the replica committed (µs since the epoch).
    pub oldest_unshipped: Option<Timestamp>,
    /// Snapshots taken by this open.
    pub snapshots: u64,
    /// Segments the current manifest lists.
    pub segments: u64,
    /// The last upload's error, until an upload succeeds.
    pub last_error: Option<String>,
    /// Another writer published a manifest version first: shipping stopped.
    pub fenced: bool,
    /// The shipper stopped (fenced, or the store closed).
    pub stopped: bool,
}

/// A running replication: its sink and its thread.
pub(crate) struct Replication {
    sink: Arc<shipper::Sink>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replication {
    /// Stops the shipper after it ships what is queued (the store is closing).
    pub(crate) fn stop(&mut self) {
        self.sink.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Replication {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Store {
    /// Starts replicating to `url` (`s3://bucket/prefix`, `gs://`, `az://`,
    /// `file:///path`): a snapshot first, then every committed batch within
    /// `opts.lag`, until the store is closed. One replication per open; a target holding
    /// another store's replica is refused (`InvalidArgument`).
    pub fn replicate(&self, url: &str, opts: ReplicateOptions) -> Result<()> {
        let mut slot = self.inner.replication.lock();
        if slot.is_some() {
            return Err(Error::InvalidArgument(
                "this store is replicating already".into(),
            ));
        }
        if opts.lag.is_zero() {
            return Err(Error::InvalidArgument(
                "the replication lag must be above 0".into(),
            ));
        }
        let target = target::Target::open(url)?;
        let latest = manifest::latest(&target)?;
        let id = shipper::hex(&self.id().0);
        if let Some(m) = &latest {
            if m.store_id != id {
                return Err(Error::InvalidArgument(format!(
                    "{url} holds a replica of store {}, not {id}",
                    m.store_id
                )));
            }
        }
        let mut writer_id = [0u8; 8];
        getrandom::fill(&mut writer_id)
            .map_err(|e| Error::Storage(format!("no OS randomness: {e}")))?;
        let sink = Arc::new(shipper::Sink::default());
        sink.status_mut(|s| s.target = url.to_string());
        let mut scratch = self.path().as_os_str().to_owned();
        scratch.push(".replica-snapshot");
        let ship = shipper::Shipper {
            target,
            sink: sink.clone(),
            store: Arc::downgrade(&self.inner),
            store_id: self.id().0,
            writer_id: shipper::hex(&writer_id),
            lag: opts.lag,
            manifest: latest,
            scratch: scratch.into(),
        };
        self.inner
            .writer
            .set_sink(Some(sink.clone() as Arc<dyn crate::writer::BatchSink>));
        let thread = std::thread::Builder::new()
            .name("hardstore-replicate".into())
            .spawn(move || ship.run())?;
        *slot = Some(Replication {
            sink,
            thread: Some(thread),
        });
        Ok(())
    }

    /// Where replication stands, or `None` when this open does not replicate.
    pub fn replication_status(&self) -> Option<ReplicationStatus> {
        self.inner
            .replication
            .lock()
            .as_ref()
            .map(|r| r.sink.status())
    }

    /// Waits until every batch committed so far is in the replica, at most `timeout`;
    /// whether it is. `InvalidArgument` when this open does not replicate.
    pub fn wait_replicated(&self, timeout: Duration) -> Result<bool> {
        let sink = match self.inner.replication.lock().as_ref() {
            Some(r) => r.sink.clone(),
            None => {
                return Err(Error::InvalidArgument(
                    "this store does not replicate".into(),
                ))
            }
        };
        let seq = sink.status().committed_seq;
        Ok(sink.wait_shipped(seq, timeout))
    }
}
