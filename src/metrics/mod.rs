//! Metrics: the store's own figures, exposed in the Prometheus text format (version
//! 0.0.4) and in OpenMetrics, encoded by `prometheus-client` (the official Rust client),
//! and as a plain snapshot.
//!
//! Every figure but the write-path ones is read from the stored data at scrape time,
//! so it is what survived: a counter here (audit entries appended, log entries
//! appended) never goes backwards, across restarts and crashes alike, because it counts
//! acknowledged records that a crash cannot lose. The write-path counters (batches,
//! writes, syncs) count since the store was opened, as process counters do; Prometheus
//! reads their drop at a restart as a counter reset.
//!
//! | series | type | what |
//! |---|---|---|
//! | `hardstore_audit_entries_total` | counter | audit entries appended, ever |
//! | `hardstore_log_entries_appended_total` | counter | log entries appended to the ring, ever |
//! | `hardstore_log_ring_entries` | gauge | entries the ring holds now |
//! | `hardstore_dead_letters{state}` | gauge | dead letters per state (pending, leased, done, dead) |
//! | `hardstore_alerts{state}` | gauge | alerts unresolved and resolved (kept) |
//! | `hardstore_restore_points` | gauge | restore points held |
//! | `hardstore_backups{result}` | gauge | cataloged backup runs, ok and failed |
//! | `hardstore_file_bytes` | gauge | the store file with its redo log (0 in memory) |
//! | `hardstore_write_batches_total`, `hardstore_writes_total`, `hardstore_write_syncs_total` | counter | group commits, writes and syncs since the open |
//! | `hardstore_uptime_seconds` | gauge | time since the open |
//! | `hardstore_operations_total{area,op,outcome}` | counter | API calls by outcome (durable) |
//! | `hardstore_dead_letter_attempts_total`, `hardstore_redo_replayed_batches_total` | counter | items claimed; batches recovery applied (durable) |
//! | `hardstore_redo_bytes_total` | counter | redo bytes appended since the open |
//! | `hardstore_backup_last_duration_seconds{kind}` | gauge | the last successful run of each kind |
//! | `hardstore_commit_seconds`, `hardstore_sync_seconds`, `hardstore_batch_writes` | histogram | the write path since the open |

mod app;
mod engine;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub(crate) use app::{checkpoint_observer, TABLE};
pub use app::{MAX_HELP, MAX_LABELS, MAX_NAME, MAX_VALUE};
pub(crate) use engine::{attempts, count, count_as, outcome, EngineCounters};

use app::{AppMetrics, Family, Kind, Series};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::backup::BackupResult;
use crate::error::{Error, Result};
use crate::store::Store;

/// The store's figures at one moment (see the module docs for each).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetricsSnapshot {
    /// Audit entries appended, ever.
    pub audit_entries: u64,
    /// Log entries appended to the ring, ever.
    pub log_entries_appended: u64,
    /// Entries the ring holds now.
    pub log_ring_entries: u64,
    /// Dead letters pending.
    pub dead_letters_pending: u64,
    /// Dead letters leased.
    pub dead_letters_leased: u64,
    /// Dead letters done (not purged).
    pub dead_letters_done: u64,
    /// Dead letters dead (not purged).
    pub dead_letters_dead: u64,
    /// Alerts not resolved.
    pub alerts_unresolved: u64,
    /// Resolved alerts kept.
    pub alerts_resolved: u64,
    /// Restore points held.
    pub restore_points: u64,
    /// Cataloged backup runs that succeeded.
    pub backups_ok: u64,
    /// Cataloged backup runs that failed or were interrupted.
    pub backups_failed: u64,
    /// The store file with its redo log, bytes (0 for a store not in a file).
    pub file_bytes: u64,
    /// Group commits since the open.
    pub write_batches: u64,
    /// Writes since the open.
    pub writes: u64,
    /// Synced commits since the open.
    pub write_syncs: u64,
    /// Seconds since the open.
    pub uptime_seconds: f64,
}

/// The store's metrics: `store.metrics()`.
#[derive(Debug, Clone, Copy)]
pub struct Metrics<'s> {
    store: &'s Store,
}

/// Which text format an exposition is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4 (`text/plain; version=0.0.4`).
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`), ending in
    /// `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The HTTP `Content-Type` of an exposition in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

impl Metrics<'_> {
    /// The figures now.
    pub fn snapshot(&self) -> Result<MetricsSnapshot> {
        let s = self.store;
        let (head, next) = s.logs().range()?;
        let dlq = s.dead_letters().counts()?;
        let alerts = s.alerts().counts()?;
        let (points, _) = s.restore_points().held()?;
        let backups = s.backups().list()?;
        let ok = backups
            .iter()
            .filter(|b| b.result == BackupResult::Ok)
            .count() as u64;
        let failed = backups
            .iter()
            .filter(|b| matches!(b.result, BackupResult::Failed | BackupResult::Interrupted))
            .count() as u64;
        let w = s.write_stats();
        Ok(MetricsSnapshot {
            audit_entries: s.audit().size()?,
            log_entries_appended: next,
            log_ring_entries: next - head,
            dead_letters_pending: dlq.pending,
            dead_letters_leased: dlq.leased,
            dead_letters_done: dlq.done,
            dead_letters_dead: dlq.dead,
            alerts_unresolved: alerts.unresolved,
            alerts_resolved: alerts.resolved,
            restore_points: points as u64,
            backups_ok: ok,
            backups_failed: failed,
            file_bytes: crate::health::file_bytes(s).unwrap_or(0),
            write_batches: w.batches,
            writes: w.writes,
            write_syncs: w.syncs,
            uptime_seconds: s
                .shared::<crate::health::HealthShared>()?
                .uptime()
                .as_secs_f64(),
        })
    }

    fn app(&self) -> Result<Arc<AppMetrics>> {
        Ok(self.store.shared::<Arc<AppMetrics>>()?.clone())
    }

    /// Registers a counter (or returns the one registered under `name` with the same
    /// labels): a name of `[a-zA-Z_:][a-zA-Z0-9_:]*` not starting `hardstore_`, a help
    /// text, and up to 16 label names. Counters are durable (see the module docs).
    pub fn counter(&self, name: &str, help: &str, labels: &[&str]) -> Result<Counter> {
        let app = self.app()?;
        let family = app.register(name, help, Kind::Counter, labels, Vec::new())?;
        Ok(Counter { family, app })
    }

    /// Registers a gauge (in memory: it starts at 0 at every open).
    pub fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> Result<Gauge> {
        let app = self.app()?;
        let family = app.register(name, help, Kind::Gauge, labels, Vec::new())?;
        Ok(Gauge { family, app })
    }

    /// Registers a histogram with these bucket upper bounds (finite, ascending; +Inf is
    /// added), in memory.
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<Histogram> {
        let app = self.app()?;
        let family = app.register(name, help, Kind::Histogram, labels, buckets.to_vec())?;
        Ok(Histogram { family, app })
    }

    /// Makes every counter's current value durable (one durable write, when any
    /// changed); returns how many series it wrote.
    pub fn persist(&self) -> Result<u64> {
        if !self.app()?.any_dirty() {
            return Ok(0); // nothing to write: no write, no fsync
        }
        self.store.write(crate::Durability::Durable, app::persist)
    }

    /// Series the cap refused, and label sets refused as malformed, since the open.
    pub fn refused(&self) -> Result<u64> {
        Ok(self.app()?.refused.load(Relaxed))
    }

    /// The figures now, encoded in `format`: the store's own, then the app's. Counters
    /// are made durable first (see the module docs), so what is shown never goes back.
    pub fn encode(&self, format: Format) -> Result<String> {
        // A store that cannot write (poisoned, closed) still answers, with what was
        // persisted before.
        let _ = self.persist();
        let mut registry = Registry::default();
        // The last successful run of each kind: how long it took, from the catalog.
        let mut last: [Option<(u64, f64)>; 3] = [None; 3];
        for b in self.store.backups().list()? {
            if let (BackupResult::Ok, Some(end)) = (b.result, b.ended) {
                let i = match b.kind {
                    crate::BackupKind::Full => 0,
                    crate::BackupKind::Incremental => 1,
                    crate::BackupKind::Differential => 2,
                };
                let slot = &mut last[i];
                if slot.is_none_or(|(at, _)| b.started >= at) {
                    *slot = Some((b.started, end.saturating_sub(b.started) as f64 / 1e6));
                }
            }
        }
        let extra = Extra {
            redo_bytes: self.store.write_stats().redo_bytes,
            backup_seconds: last.map(|l| l.map(|(_, d)| d)),
        };
        registry.register_collector(Box::new(Snapshot(
            self.snapshot()?,
            self.store.write_latency(),
            extra,
        )));
        registry.register_collector(Box::new(AppCollector(self.app()?)));
        let mut out = String::new();
        let done = match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
            }
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &registry),
        };
        done.map_err(|_| Error::Storage("the metrics could not be encoded".into()))?;
        Ok(out)
    }
}

/// A registered counter: `with` gives the series of one set of label values.
#[derive(Debug, Clone)]
pub struct Counter {
    family: Arc<Family>,
    app: Arc<AppMetrics>,
}

impl Counter {
    /// The series of these label values (as many as the label names), made on first
    /// use; past the store's series cap, `Error::LimitReached`. Keep it for the hot path.
    pub fn with(&self, values: &[&str]) -> Result<CounterSeries> {
        self.app.series(&self.family, values).map(CounterSeries)
    }
}

/// One counter series. `inc` is an atomic add.
#[derive(Debug, Clone)]
pub struct CounterSeries(Arc<Series>);

impl CounterSeries {
    /// Adds 1.
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: u64) {
        self.0.value.fetch_add(n, Relaxed);
        // Read first: once set, the flag's cache line stays shared across cores.
        if !self.0.dirty.load(Relaxed) {
            self.0.dirty.store(true, Relaxed);
        }
    }

    /// The value counted (what the next persist writes).
    pub fn get(&self) -> u64 {
        self.0.value.load(Relaxed)
    }
}

/// A registered gauge.
#[derive(Debug, Clone)]
pub struct Gauge {
    family: Arc<Family>,
    app: Arc<AppMetrics>,
}

impl Gauge {
    /// The series of these label values (see [`Counter::with`]).
    pub fn with(&self, values: &[&str]) -> Result<GaugeSeries> {
        self.app.series(&self.family, values).map(GaugeSeries)
    }
}

/// One gauge series.
#[derive(Debug, Clone)]
pub struct GaugeSeries(Arc<Series>);

impl GaugeSeries {
    /// Sets it.
    pub fn set(&self, v: i64) {
        self.0.gauge.store(v, Relaxed);
    }

    /// Adds `d` (may be negative).
    pub fn add(&self, d: i64) {
        self.0.gauge.fetch_add(d, Relaxed);
    }

    /// Its value.
    pub fn get(&self) -> i64 {
        self.0.gauge.load(Relaxed)
    }
}

/// A registered histogram.
#[derive(Debug, Clone)]
pub struct Histogram {
    family: Arc<Family>,
    app: Arc<AppMetrics>,
}

impl Histogram {
    /// The series of these label values (see [`Counter::with`]).
    pub fn with(&self, values: &[&str]) -> Result<HistogramSeries> {
        let s = self.app.series(&self.family, values)?;
        Ok(HistogramSeries(s, self.family.clone()))
    }
}

/// One histogram series.
#[derive(Debug, Clone)]
pub struct HistogramSeries(Arc<Series>, Arc<Family>);

impl HistogramSeries {
    /// Counts one observation of `v`. A NaN is counted in the +Inf bucket only, and
    /// left out of the sum (which it would make NaN for good).
    pub fn observe(&self, v: f64) {
        if v.is_nan() {
            self.0.buckets[self.1.bounds.len()].fetch_add(1, Relaxed);
            return;
        }
        let i = self.1.bounds.partition_point(|b| *b < v);
        self.0.buckets[i].fetch_add(1, Relaxed);
        let _ = self.0.sum_bits.fetch_update(Relaxed, Relaxed, |b| {
            Some((f64::from_bits(b) + v).to_bits())
        });
    }
}

/// The app's families as a collector.
#[derive(Debug)]
struct AppCollector(Arc<AppMetrics>);

impl Collector for AppCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let refused = ConstCounter::new(self.0.refused.load(Relaxed));
        refused.encode(e.encode_descriptor(
            "hardstore_metrics_refused",
            "Metric series refused (over the cap, or malformed labels) since the open.",
            None,
            refused.metric_type(),
        )?)?;
        for f in self.0.families.read().iter() {
            let kind = match f.kind {
                Kind::Counter => prometheus_client::metrics::MetricType::Counter,
                Kind::Gauge => prometheus_client::metrics::MetricType::Gauge,
                Kind::Histogram => prometheus_client::metrics::MetricType::Histogram,
            };
            let mut m = e.encode_descriptor(&f.name, &f.help, None, kind)?;
            let series = f.series.read();
            let mut rows: Vec<_> = series.iter().collect();
            rows.sort_by(|a, b| a.0.cmp(b.0));
            for (values, s) in rows {
                let labels: Vec<(String, String)> = f
                    .labels
                    .iter()
                    .cloned()
                    .zip(values.iter().cloned())
                    .collect();
                let se = m.encode_family(&labels)?;
                match f.kind {
                    Kind::Counter => ConstCounter::new(s.persisted.load(Relaxed)).encode(se)?,
                    Kind::Gauge => ConstGauge::new(s.gauge.load(Relaxed)).encode(se)?,
                    Kind::Histogram => {
                        let mut se = se;
                        let mut buckets: Vec<(f64, u64)> = f
                            .bounds
                            .iter()
                            .zip(&s.buckets)
                            .map(|(b, c)| (*b, c.load(Relaxed)))
                            .collect();
                        buckets.push((f64::INFINITY, s.buckets[f.bounds.len()].load(Relaxed)));
                        let count = buckets.iter().map(|b| b.1).sum();
                        let sum = f64::from_bits(s.sum_bits.load(Relaxed));
                        se.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                            sum, count, &buckets, None,
                        )?
                    }
                }
            }
        }
        Ok(())
    }
}

/// Metrics' hooks: the registry of the open, its stored counters read at open, and a
/// last persist at close.
pub(crate) struct MetricsArea;

impl crate::engine::area::Area for MetricsArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        let read = redb::ReadableDatabase::begin_read(ctx.db)?;
        let app = Arc::new(AppMetrics::load(&read, ctx.opts.metrics_max_series)?);
        let engine = EngineCounters::new(app.clone())?;
        engine.replayed(ctx.replayed);
        ctx.shared.insert(Arc::new(engine));
        ctx.shared.insert(Arc::new(app));
        Ok(())
    }

    fn pending_at_close(&self, shared: &crate::engine::area::Shared) -> bool {
        shared.get::<Arc<AppMetrics>>().is_ok_and(|app| {
            // The final checkpoint follows: it persists, whenever the last one did.
            app.closing.store(true, Relaxed);
            app.any_dirty()
        })
    }
}

impl Store {
    /// The store's metrics, for a Prometheus scrape.
    pub fn metrics(&self) -> Metrics<'_> {
        Metrics { store: self }
    }
}

/// A snapshot as a `prometheus-client` collector (a fresh one per scrape).
#[derive(Debug)]
struct Snapshot(MetricsSnapshot, crate::WriteLatency, Extra);

/// Figures of a scrape that the snapshot struct (and its C twin) does not carry.
#[derive(Debug)]
struct Extra {
    redo_bytes: u64,
    /// The last successful full, incremental and differential run's duration, seconds.
    backup_seconds: [Option<f64>; 3],
}

/// A histogram of the write path, its bounds scaled by `scale` (microseconds to seconds).
fn write_histogram(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    h: &crate::HistogramSnapshot,
    scale: f64,
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(
        name,
        help,
        None,
        prometheus_client::metrics::MetricType::Histogram,
    )?;
    let mut buckets: Vec<(f64, u64)> = h
        .bounds
        .iter()
        .zip(&h.counts)
        .map(|(b, c)| (*b as f64 / scale, *c))
        .collect();
    buckets.push((f64::INFINITY, h.counts.last().copied().unwrap_or(0)));
    let count = h.counts.iter().sum();
    m.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
        h.sum as f64 / scale,
        count,
        &buckets,
        None,
    )
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

/// A gauge with one label, one series per (value, figure).
fn labeled(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &'static str,
    series: &[(&'static str, u64)],
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(
        name,
        help,
        None,
        prometheus_client::metrics::MetricType::Gauge,
    )?;
    for &(value, v) in series {
        let labels = [(label, value)];
        ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX)).encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        counter(
            &mut e,
            "hardstore_audit_entries",
            "Audit entries appended, ever.",
            s.audit_entries,
        )?;
        counter(
            &mut e,
            "hardstore_log_entries_appended",
            "Log entries appended to the ring, ever.",
            s.log_entries_appended,
        )?;
        gauge(
            &mut e,
            "hardstore_log_ring_entries",
            "Entries the log ring holds.",
            signed(s.log_ring_entries),
        )?;
        labeled(
            &mut e,
            "hardstore_dead_letters",
            "Dead letters per state.",
            "state",
            &[
                ("pending", s.dead_letters_pending),
                ("leased", s.dead_letters_leased),
                ("done", s.dead_letters_done),
                ("dead", s.dead_letters_dead),
            ],
        )?;
        labeled(
            &mut e,
            "hardstore_alerts",
            "Alerts unresolved, and resolved ones kept.",
            "state",
            &[
                ("unresolved", s.alerts_unresolved),
                ("resolved", s.alerts_resolved),
            ],
        )?;
        gauge(
            &mut e,
            "hardstore_restore_points",
            "Restore points held.",
            signed(s.restore_points),
        )?;
        labeled(
            &mut e,
            "hardstore_backups",
            "Cataloged backup runs per result.",
            "result",
            &[("ok", s.backups_ok), ("failed", s.backups_failed)],
        )?;
        gauge(
            &mut e,
            "hardstore_file_bytes",
            "Bytes of the store file and its redo log.",
            signed(s.file_bytes),
        )?;
        counter(
            &mut e,
            "hardstore_write_batches",
            "Group commits since the open.",
            s.write_batches,
        )?;
        counter(
            &mut e,
            "hardstore_writes",
            "Writes since the open.",
            s.writes,
        )?;
        counter(
            &mut e,
            "hardstore_write_syncs",
            "Synced commits since the open.",
            s.write_syncs,
        )?;
        counter(
            &mut e,
            "hardstore_redo_bytes",
            "Bytes of redo records appended since the open.",
            self.2.redo_bytes,
        )?;
        {
            let mut m = e.encode_descriptor(
                "hardstore_backup_last_duration_seconds",
                "How long the last successful backup of each kind took (from the catalog).",
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for (kind, d) in ["full", "incremental", "differential"]
                .iter()
                .zip(self.2.backup_seconds)
            {
                if let Some(d) = d {
                    let labels = [("kind", *kind)];
                    ConstGauge::new(d).encode(m.encode_family(&labels)?)?;
                }
            }
        }
        let l = &self.1;
        write_histogram(
            &mut e,
            "hardstore_commit_seconds",
            "A batch's time from its start to its commit, since the open.",
            &l.commit_us,
            1e6,
        )?;
        write_histogram(
            &mut e,
            "hardstore_sync_seconds",
            "A durable batch's sync (redo log fsync or synced commit), since the open.",
            &l.sync_us,
            1e6,
        )?;
        write_histogram(
            &mut e,
            "hardstore_batch_writes",
            "Writes per group-committed batch, since the open.",
            &l.batch_writes,
            1.0,
        )?;
        let g = ConstGauge::new(s.uptime_seconds);
        g.encode(e.encode_descriptor(
            "hardstore_uptime_seconds",
            "Seconds since the store was opened.",
            None,
            g.metric_type(),
        )?)
    }
}
