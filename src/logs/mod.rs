//! The log ring: the last N log entries (N = 100,000 by default), persistent, oldest
//! evicted first, queryable, with stats.
//!
//! A buffered append (the default) validates and redacts the entry, gives it the next
//! seq and queues it in memory: it never waits for a transaction or an fsync. Queued
//! entries are written by the next group-committed batch (any write, the flusher every
//! `flush_interval`, a query, or the appending thread itself once
//! [`QUEUE_COMMIT_AT`] entries wait), in seq order, evicting the oldest in the same
//! transaction. A durable append returns once its entry (and every one before it) is on
//! disk. A crash loses only queued and unsynced buffered entries, never a durable one.

mod entry;
#[cfg(feature = "tracing")]
mod layer;
mod query;
pub mod redact;
pub(crate) mod ring;

pub use entry::{limits, Level, LogEntry, LogError, LogRecord};
#[cfg(feature = "tracing")]
pub use layer::RingLayer;
pub use query::{EndpointStats, LogCursor, LogPage, LogQuery, LogStats, MAX_LOG_PAGE};

pub(crate) use ring::{RingState, RingTables};

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;

/// Once this many entries are queued, the appending thread commits them itself (without
/// an fsync), which bounds the queue's memory and gives producers back-pressure.
pub const QUEUE_COMMIT_AT: usize = 8192;

/// Entries appended but not yet written to the ring.
#[derive(Debug, Default)]
pub(crate) struct LogQueue {
    inner: Mutex<QueueInner>,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct QueueInner {
    entries: Vec<LogEntry>,
    next_seq: u64,
    closed: bool,
}

impl LogQueue {
    pub(crate) fn new(next_seq: u64) -> LogQueue {
        LogQueue {
            inner: Mutex::new(QueueInner {
                entries: Vec::new(),
                next_seq,
                closed: false,
            }),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a record; returns its seq and how many entries now wait.
    fn push(&self, record: LogRecord, now: impl FnOnce() -> Timestamp) -> Result<(u64, usize)> {
        let mut q = self.inner.lock();
        if q.closed {
            return Err(Error::Closed);
        }
        let seq = q.next_seq;
        q.next_seq += 1;
        q.entries.push(LogEntry::from_record(record, seq, now()));
        Ok((seq, q.entries.len()))
    }

    /// Takes every queued entry, in seq order.
    pub(crate) fn take(&self) -> Vec<LogEntry> {
        std::mem::take(&mut self.inner.lock().entries)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.inner.lock().entries.is_empty()
    }

    /// Refuses further appends (the store is closing).
    pub(crate) fn close(&self) {
        self.inner.lock().closed = true;
    }

    pub(crate) fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Applies redaction to the message and field values.
fn redact_record(mut r: LogRecord) -> LogRecord {
    if let Some(m) = redact::redact(&r.message) {
        r.message = m;
    }
    for (_, v) in r.fields.iter_mut() {
        if let Some(x) = redact::redact(v) {
            *v = x;
        }
    }
    if let Some(e) = r.error.as_mut() {
        if let Some(m) = redact::redact(&e.message) {
            e.message = m;
        }
    }
    r
}

/// The log ring of a [`Store`]: `store.logs()`.
#[derive(Debug, Clone, Copy)]
pub struct Logs<'s> {
    store: &'s Store,
}

impl<'s> Logs<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Appends an entry and returns its seq. [`Durability::Buffered`] (what logs usually
    /// want) returns at once; [`Durability::Durable`] returns once it is on disk.
    /// An entry over a limit is refused ([`Error::TooLong`]), never cut.
    pub fn append(&self, record: LogRecord, durability: Durability) -> Result<u64> {
        crate::metrics::count(
            self.store,
            "logs",
            "append",
            (|| {
                record.validate()?;
                let record = if self.store.inner.opts.redact_logs {
                    redact_record(record)
                } else {
                    record
                };
                let queue = self.store.shared::<LogQueue>()?;
                let (seq, waiting) = queue.push(record, || self.store.clock_now())?;
                if durability == Durability::Durable {
                    self.store.flush()?;
                } else if waiting >= QUEUE_COMMIT_AT {
                    self.commit_queued()?;
                }
                Ok(seq)
            })(),
        )
    }

    /// Appends without ever waiting on the writer: the entry is dropped (and counted in
    /// [`Logs::dropped`]) if it is invalid, the store is closed or the queue is past twice
    /// [`QUEUE_COMMIT_AT`]. For log pipelines (the tracing layer) that must never block.
    pub fn try_append(&self, record: LogRecord) -> Option<u64> {
        let queue = self.store.shared::<LogQueue>().ok()?;
        if record.validate().is_err() || queue.inner.lock().entries.len() >= 2 * QUEUE_COMMIT_AT {
            queue.count_dropped();
            return None;
        }
        let record = if self.store.inner.opts.redact_logs {
            redact_record(record)
        } else {
            record
        };
        match queue.push(record, || self.store.clock_now()) {
            Ok((seq, _)) => Some(seq),
            Err(_) => {
                queue.count_dropped();
                None
            }
        }
    }

    /// Entries [`Logs::try_append`] dropped since the store was opened.
    pub fn dropped(&self) -> u64 {
        self.store.shared::<LogQueue>().map_or(0, |q| q.dropped())
    }

    /// Writes queued entries to the ring (visible to queries; synced within the flush
    /// interval).
    pub fn commit_queued(&self) -> Result<()> {
        self.store.write(Durability::Buffered, |_| Ok(()))
    }

    /// One page of entries matching `q`. Queued entries are committed first, so a
    /// query sees every append that returned before it.
    pub fn query(&self, q: &LogQuery) -> Result<LogPage> {
        q.validate()?;
        self.sync_view()?;
        query::run(&self.ring()?, q)
    }

    /// Counts per level, error rate, and per-endpoint count, errors, mean and p95
    /// duration over entries with `from <= time < until` (either bound optional).
    pub fn stats(&self, from: Option<Timestamp>, until: Option<Timestamp>) -> Result<LogStats> {
        self.sync_view()?;
        query::stats(&self.ring()?, from, until)
    }

    /// The live seq range `[oldest, next)`: `next - oldest` entries are in the ring.
    pub fn range(&self) -> Result<(u64, u64)> {
        self.sync_view()?;
        let r = self.ring()?;
        Ok((r.head, r.next))
    }

    /// The number of entries in the ring.
    pub fn len(&self) -> Result<u64> {
        let (head, next) = self.range()?;
        Ok(next - head)
    }

    /// Whether the ring is empty.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The ring's capacity: the store's `log_capacity` setting ([`crate::Settings`]).
    pub fn capacity(&self) -> u64 {
        self.store.inner.settings.read().log_capacity
    }

    fn sync_view(&self) -> Result<()> {
        if !self.store.shared::<LogQueue>()?.is_empty() {
            self.commit_queued()?;
        }
        Ok(())
    }

    /// The newest entries appended at or after `from`, at most `cap` (health's request
    /// figures).
    pub(crate) fn recent(&self, from: Timestamp, cap: usize) -> Result<query::Recent> {
        self.sync_view()?;
        query::recent(&self.ring()?, from, cap)
    }

    fn ring(&self) -> Result<ring::ReadRing> {
        ring::ReadRing::open(&self.store.begin_read()?)
    }
}

impl Store {
    /// The ring of recent log entries.
    pub fn logs(&self) -> Logs<'_> {
        Logs::new(self)
    }
}

/// The ring's hooks: its range is kept by the writer, and the log queue is written first
/// by every batch.
pub(crate) struct LogsArea;

impl crate::engine::area::Area for LogsArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        let ring = RingState::load(&read, ctx.settings.log_capacity)?;
        let queue = std::sync::Arc::new(LogQueue::new(ring.next));
        ctx.states.insert(ring);
        ctx.shared.insert(queue.clone());
        *ctx.queue = Some(queue);
        Ok(())
    }

    fn seed_settings(
        &self,
        read: &redb::ReadTransaction,
        seed: &mut crate::settings::Settings,
    ) -> Result<()> {
        // A store written before settings were stored keeps every entry it holds.
        let ring = RingState::load(read, seed.log_capacity)?;
        seed.log_capacity = seed.log_capacity.max(ring.next - ring.head);
        Ok(())
    }

    fn apply_settings(
        &self,
        tx: &mut crate::WriteTx<'_>,
        s: &crate::settings::Settings,
    ) -> Result<u64> {
        let (tables, state) = tx.part_and_state::<RingPart, RingState>(RingTables::open)?;
        state.capacity = s.log_capacity;
        let held = state.next - state.head;
        tables.evict(state)?;
        Ok(held - (state.next - state.head))
    }
}

impl crate::engine::area::WriteQueue for LogQueue {
    fn take(&self) -> Box<dyn crate::engine::area::Queued> {
        Box::new(QueuedLogs(LogQueue::take(self)))
    }

    fn is_empty(&self) -> bool {
        LogQueue::is_empty(self)
    }

    fn close(&self) {
        LogQueue::close(self)
    }
}

/// Log entries taken from the queue for one batch.
struct QueuedLogs(Vec<LogEntry>);

impl crate::engine::area::Queued for QueuedLogs {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn write(&self, tx: &mut crate::WriteTx<'_>) -> Result<()> {
        tx.logs_write(&self.0)
    }

    fn extend(&mut self, more: Box<dyn crate::engine::area::Queued>) -> Result<()> {
        match more.into_any().downcast::<QueuedLogs>() {
            Ok(more) => {
                self.0.extend(more.0);
                Ok(())
            }
            Err(_) => Err(Error::Storage(
                "queued work of another kind joined the log entries".into(),
            )),
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// The ring's tables a transaction opened.
struct RingPart;

impl crate::engine::area::Family for RingPart {
    type Of<'a> = RingTables<'a>;
}

impl crate::WriteTx<'_> {
    /// Writes queued log entries (consecutive seqs) into the ring, evicting the oldest.
    pub(crate) fn logs_write(&mut self, entries: &[LogEntry]) -> Result<()> {
        let (tables, state) = self.part_and_state::<RingPart, RingState>(RingTables::open)?;
        tables.append(state, entries)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::Options;

    /// A durable append returns only once its entry is committed, even while other
    /// writers keep batches running that take jobs queued after they started: the
    /// committed ring (read without committing the queue first) must hold it.
    #[test]
    fn a_durable_append_is_committed_when_it_returns_under_load() {
        let store = Store::in_memory(Options::new()).unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..6u8 {
                let (store, stop) = (&store, &stop);
                s.spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        store
                            .kv_put("load", &[t], &i.to_le_bytes(), Durability::Durable)
                            .unwrap();
                        i += 1;
                    }
                });
            }
            let appenders: Vec<_> = (0..4)
                .map(|t| {
                    let store = &store;
                    s.spawn(move || {
                        for i in 0..300u64 {
                            let rec = LogRecord::new(Level::Info, format!("t{t} {i}"));
                            let seq = store.logs().append(rec, Durability::Durable).unwrap();
                            let read = store.begin_read().unwrap();
                            let next = ring::ReadRing::open(&read).unwrap().next;
                            assert!(seq < next, "seq {seq} acknowledged, ring ends at {next}");
                        }
                    })
                })
                .collect();
            let results: Vec<_> = appenders.into_iter().map(|a| a.join()).collect();
            stop.store(true, Ordering::Relaxed);
            for r in results {
                r.unwrap();
            }
        });
    }
}
