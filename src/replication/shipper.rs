//! The shipper: a thread that turns committed batches into segments and snapshots on the
//! target, publishing a manifest version after each.
//!
//! Invariants:
//! - The writer hands every committed batch to [`Sink::batch`] in sequence order; they
//!   stay queued until a segment holding them is uploaded and its manifest published,
//!   so an upload that fails loses nothing: it is retried at the next tick.
//! - A snapshot is taken at the start, after a change ops cannot carry (`reset`), when
//!   the queue outgrows its bound (the batches are dropped, the snapshot replaces them),
//!   and when the manifest lists `MAX_SEGMENTS` segments (the snapshot compacts them).
//!   Its manifest lists no segment; batches below its `first_seq` are dropped.
//! - Segments are consecutive from the snapshot's `first_seq`.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::replication::manifest::{self, Manifest, SegmentRef, SnapshotRef};
use crate::replication::segment::{self, Batch};
use crate::replication::target::Target;
use crate::replication::ReplicationStatus;
use crate::store::Inner;

/// Queued bytes past which batches are dropped for a new snapshot.
const MAX_PENDING: usize = 256 << 20;
/// Segments a manifest lists before a snapshot compacts them.
const MAX_SEGMENTS: usize = 1000;
/// A segment's most bytes (a busy second is cut into several).
const MAX_SEGMENT: usize = 16 << 20;

#[derive(Default)]
struct Queue {
    batches: Vec<Batch>,
    /// When the oldest queued batch arrived: a segment is cut `lag` after it.
    since: Option<Instant>,
    bytes: usize,
    snapshot: bool,
    stop: bool,
    committed: u64,
}

/// What the writer feeds and the shipper drains.
#[derive(Default)]
pub(crate) struct Sink {
    q: Mutex<Queue>,
    cv: Condvar,
    /// Wakes callers waiting for a seq to be shipped.
    shipped: Condvar,
    status: Mutex<ReplicationStatus>,
}

impl crate::writer::BatchSink for Sink {
    fn batch(&self, seq: u64, time: crate::clock::Timestamp, ops: Vec<u8>) {
        let mut q = self.q.lock();
        q.committed = seq;
        q.bytes += ops.len() + 20;
        q.since.get_or_insert_with(Instant::now);
        q.batches.push(Batch { seq, time, ops });
        if q.bytes > MAX_PENDING {
            q.batches.clear();
            q.bytes = 0;
            q.since = None;
            q.snapshot = true;
        }
        self.cv.notify_one();
    }

    fn reset(&self, seq: u64) {
        let mut q = self.q.lock();
        q.committed = seq;
        q.batches.clear();
        q.bytes = 0;
        q.snapshot = true;
        self.cv.notify_one();
    }
}

impl Sink {
    pub(crate) fn status(&self) -> ReplicationStatus {
        let q = self.q.lock();
        let mut s = self.status.lock().clone();
        s.committed_seq = q.committed.max(s.shipped_seq.unwrap_or(0));
        s.lag_batches = s.committed_seq.saturating_sub(s.shipped_seq.unwrap_or(0));
        s.oldest_unshipped = q.batches.first().map(|b| b.time);
        s
    }

    pub(crate) fn status_mut(&self, f: impl FnOnce(&mut ReplicationStatus)) {
        f(&mut self.status.lock());
    }

    /// Waits until batch `seq` is shipped, the shipper stops, or `timeout` passes.
    pub(crate) fn wait_shipped(&self, seq: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.status.lock();
        loop {
            if st.shipped_seq.is_some_and(|s| s >= seq) {
                return true;
            }
            if st.stopped || self.shipped.wait_until(&mut st, deadline).timed_out() {
                return st.shipped_seq.is_some_and(|s| s >= seq);
            }
        }
    }

    pub(crate) fn stop(&self) {
        self.q.lock().stop = true;
        self.cv.notify_one();
    }
}

/// The shipper's own state.
pub(crate) struct Shipper {
    pub(crate) target: Target,
    pub(crate) sink: Arc<Sink>,
    pub(crate) store: Weak<Inner>,
    pub(crate) store_id: [u8; 16],
    pub(crate) writer_id: String,
    pub(crate) lag: Duration,
    pub(crate) manifest: Option<Manifest>,
    pub(crate) scratch: std::path::PathBuf,
}

impl Shipper {
    /// Runs until stopped; ships what is queued once more before returning.
    pub(crate) fn run(mut self) {
        let mut snapshot = true;
        loop {
            let (mut batches, stop) = {
                let mut q = self.sink.q.lock();
                // Gather for `lag` after the oldest queued batch (one segment per lag, not
                // per batch), unless stopping, a snapshot is due or a segment is full.
                while !q.stop && !q.snapshot && q.bytes < MAX_SEGMENT {
                    match q.since {
                        None => {
                            self.sink.cv.wait_for(&mut q, self.lag);
                            if q.since.is_none() {
                                break;
                            }
                        }
                        Some(t) if t.elapsed() >= self.lag => break,
                        Some(t) => {
                            self.sink.cv.wait_until(&mut q, t + self.lag);
                        }
                    }
                }
                snapshot |= std::mem::take(&mut q.snapshot);
                q.bytes = 0;
                q.since = None;
                (std::mem::take(&mut q.batches), q.stop)
            };
            let res = self.tick(&mut snapshot, &mut batches);
            {
                let mut st = self.sink.status.lock();
                match &res {
                    Ok(()) => st.last_error = None,
                    Err(e) => {
                        st.last_error = Some(e.to_string());
                        st.fenced |= matches!(e, Error::Fenced(_));
                    }
                }
            }
            if !batches.is_empty() {
                // Not shipped: back to the front of the queue, for the next tick.
                let mut q = self.sink.q.lock();
                q.bytes += batches.iter().map(|b| b.ops.len() + 20).sum::<usize>();
                q.since.get_or_insert_with(Instant::now);
                batches.append(&mut q.batches);
                q.batches = batches;
            }
            let fenced = matches!(res, Err(Error::Fenced(_)));
            if stop || fenced {
                let mut st = self.sink.status.lock();
                st.stopped = true;
                self.sink.shipped.notify_all();
                return;
            }
            if res.is_err() {
                // A failing target: wait a tick before trying again.
                let mut q = self.sink.q.lock();
                if !q.stop {
                    self.sink.cv.wait_for(&mut q, self.lag);
                }
            }
        }
    }

    fn tick(&mut self, snapshot: &mut bool, batches: &mut Vec<Batch>) -> Result<()> {
        let too_many = self
            .manifest
            .as_ref()
            .is_some_and(|m| m.segments.len() >= MAX_SEGMENTS);
        if *snapshot || too_many || self.manifest.is_none() {
            self.take_snapshot()?;
            *snapshot = false;
        }
        // Batches the snapshot holds already (committed while it was taken, or before).
        let next = self.next_seq();
        batches.retain(|b| b.seq >= next);
        while !batches.is_empty() {
            let mut n = 0;
            let mut bytes = 0;
            while n < batches.len() && (n == 0 || bytes + batches[n].ops.len() <= MAX_SEGMENT) {
                bytes += batches[n].ops.len() + 20;
                n += 1;
            }
            self.ship(&batches[..n])?;
            batches.drain(..n);
        }
        Ok(())
    }

    fn next_seq(&self) -> u64 {
        let m = self.manifest.as_ref().expect("a manifest once snapshotted");
        m.segments
            .last()
            .map_or(m.snapshot.first_seq, |s| s.last + 1)
    }

    fn ship(&mut self, batches: &[Batch]) -> Result<()> {
        let (first, last) = (batches[0].seq, batches[batches.len() - 1].seq);
        if first != self.next_seq() {
            // A gap (cannot happen while the writer feeds every batch): start over.
            return Err(Error::Storage(format!(
                "replication: batch {first} follows {}; a snapshot is due",
                self.next_seq()
            )));
        }
        let bytes = segment::encode(&self.store_id, batches);
        let key = format!("segments/{first:020}-{last:020}.seg");
        let sum = blake3::hash(&bytes).to_hex().to_string();
        let len = bytes.len() as u64;
        self.target.put(&key, bytes)?;
        let mut m = self.manifest.clone().expect("a manifest once snapshotted");
        m.version += 1;
        m.segments.push(SegmentRef {
            key,
            first,
            last,
            last_time: batches[batches.len() - 1].time,
            bytes: len,
            blake3: sum,
        });
        manifest::publish(&self.target, &m)?;
        self.manifest = Some(m);
        self.shipped(last);
        Ok(())
    }

    fn shipped(&self, seq: u64) {
        let mut st = self.sink.status.lock();
        st.shipped_seq = Some(seq);
        st.last_error = None;
        st.segments = self
            .manifest
            .as_ref()
            .map_or(0, |m| m.segments.len() as u64);
        self.sink.shipped.notify_all();
    }

    /// Takes a snapshot, uploads it and publishes a manifest that starts from it;
    /// returns its `first_seq`.
    fn take_snapshot(&mut self) -> Result<u64> {
        let inner = self.store.upgrade().ok_or(Error::Closed)?;
        let store = crate::Store { inner };
        let (read, first) = store.inner.writer.read_at_seq()?;
        let time = store.clock_now();
        let _ = std::fs::remove_file(&self.scratch);
        let written =
            store
                .backups()
                .full_from(read, &self.scratch, &crate::BackupOptions::default());
        drop(store);
        written?;
        let bytes = std::fs::read(&self.scratch)?;
        let _ = std::fs::remove_file(&self.scratch);
        let key = format!("snapshots/{first:020}-{}.hsb", self.writer_id);
        let sum = blake3::hash(&bytes).to_hex().to_string();
        let len = bytes.len() as u64;
        self.target.put(&key, bytes)?;
        let version = match &self.manifest {
            Some(m) => m.version + 1,
            None => manifest::latest(&self.target)?.map_or(1, |m| m.version + 1),
        };
        let m = Manifest {
            format: manifest::FORMAT,
            version,
            store_id: hex(&self.store_id),
            writer: self.writer_id.clone(),
            snapshot: SnapshotRef {
                key,
                first_seq: first,
                time,
                bytes: len,
                blake3: sum,
            },
            segments: Vec::new(),
        };
        manifest::publish(&self.target, &m)?;
        self.manifest = Some(m);
        {
            let mut st = self.sink.status.lock();
            st.snapshots += 1;
        }
        if first > 0 {
            self.shipped(first - 1);
        }
        Ok(first)
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
