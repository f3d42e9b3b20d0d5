//! A fixed-bucket histogram of atomics, for the write path's latencies and batch sizes:
//! recording is two relaxed atomic adds, and a snapshot may see a recording half done
//! (its bucket counted, its sum not yet), which a scrape tolerates.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Buckets with upper bounds `BOUNDS[i]` (in the recorded unit), plus one past the last.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [u64],
    counts: Vec<AtomicU64>,
    sum: AtomicU64,
}

/// What a histogram held at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Upper bounds of the buckets (the last bucket, past them, is unbounded).
    pub bounds: Vec<u64>,
    /// Observations per bucket (not cumulative): one more than `bounds`.
    pub counts: Vec<u64>,
    /// The sum of the observations.
    pub sum: u64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, v: u64) {
        let i = self.bounds.partition_point(|b| *b < v);
        self.counts[i].fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds: self.bounds.to_vec(),
            counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
            sum: self.sum.load(Relaxed),
        }
    }
}

/// Latency buckets, microseconds: 10 us to 1 s.
pub(crate) const LATENCY_US: &[u64] = &[
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 1_000_000,
];
/// Batch-size buckets, writes per batch.
pub(crate) const BATCH_SIZES: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096];

/// The write path's histograms since the open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteLatency {
    /// From a batch's start to its commit, microseconds.
    pub commit_us: HistogramSnapshot,
    /// A durable batch's sync (the redo log's fsync, or a synced redb commit), microseconds.
    pub sync_us: HistogramSnapshot,
    /// Writes per batch.
    pub batch_writes: HistogramSnapshot,
}
