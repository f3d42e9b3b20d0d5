//! The app's own metrics: counters, gauges and histograms it registers (name, help,
//! label names), each series an atomic the hot path updates without a lock.
//!
//! Counters are durable: their values are kept in `metrics.counters` (one row per
//! series), written by [`persist`] (every scrape starts with one, so do checkpoints and
//! close), and an exposition shows each counter as last persisted. So a counter a
//! scrape saw is on disk, and a restart, even after a crash, starts from at least that:
//! a counter never goes back. Gauges and histograms live in memory: they describe the
//! running process and start empty at every open.
//!
//! Invariants:
//! - A name is registered once per open, with one kind and one list of label names;
//!   registering it again with the same gives the same family, with others an error.
//! - The store holds at most `max_series` series (all families together); a new series
//!   past it is refused (`LimitReached`) and counted, never silently dropped.
//! - A series' `persisted` never exceeds its `value`, and only grows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use redb::TableDefinition;

use crate::engine::catalog::{Flags, Table};
use crate::error::{Error, Result};

/// Series key (the family name, then each label value, NUL-separated) -> count.
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("metrics.counters");
/// Counters are kept across restores and in backups, as the audit log is.
pub(crate) static TABLE: Table<&str, u64> = Table::new(29, COUNTERS, Flags::KEPT);

/// The most label names a family may have.
pub const MAX_LABELS: usize = 16;
/// The longest metric or label name, and the longest label value or help text, in bytes.
pub const MAX_NAME: usize = 128;
/// See [`MAX_NAME`].
pub const MAX_VALUE: usize = 256;
/// See [`MAX_NAME`].
pub const MAX_HELP: usize = 1024;

/// What a family counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One series: a counter's or gauge's value, or a histogram's buckets.
#[derive(Debug, Default)]
pub(crate) struct Series {
    pub(crate) value: AtomicU64,
    pub(crate) gauge: AtomicI64,
    /// A counter's value as last written to `COUNTERS` (what an exposition shows).
    pub(crate) persisted: AtomicU64,
    pub(crate) dirty: AtomicBool,
    /// Histogram: per-bucket counts (the last is +Inf), the sum as f64 bits, the count.
    pub(crate) buckets: Vec<AtomicU64>,
    pub(crate) sum_bits: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) kind: Kind,
    pub(crate) labels: Vec<String>,
    /// Histogram bucket upper bounds, ascending, without +Inf.
    pub(crate) bounds: Vec<f64>,
    pub(crate) series: RwLock<HashMap<Vec<String>, Arc<Series>>>,
}

/// The registry of one open (a shared object).
#[derive(Debug)]
pub(crate) struct AppMetrics {
    pub(crate) families: RwLock<Vec<Arc<Family>>>,
    /// Stored counter values read at open, by series key, not yet claimed by a series.
    base: Mutex<HashMap<String, u64>>,
    pub(crate) max_series: usize,
    series_count: AtomicU64,
    /// Series refused for the cap, and label sets refused as malformed.
    pub(crate) refused: AtomicU64,
    /// When a checkpoint last persisted the counters (see `checkpoint_observer`).
    last_checkpoint: Mutex<Option<std::time::Instant>>,
    /// Set at the final sync of a close: its checkpoint persists whatever the time.
    pub(crate) closing: AtomicBool,
}

pub(crate) fn series_key(family: &str, values: &[String]) -> String {
    let mut k = family.to_owned();
    for v in values {
        k.push('\0');
        k.push_str(v);
    }
    k
}

fn check_name(what: &'static str, s: &str, label: bool) -> Result<()> {
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (!label && c == ':');
    let ok_rest = |c: char| c.is_ascii_alphanumeric() || c == '_' || (!label && c == ':');
    let mut chars = s.chars();
    let valid = chars.next().is_some_and(ok_first) && chars.all(ok_rest);
    if s.len() > MAX_NAME {
        return Err(Error::TooLong {
            field: what,
            len: s.len(),
            max: MAX_NAME,
        });
    }
    if !valid {
        return Err(Error::InvalidArgument(format!(
            "{what} {s:?} is not a Prometheus name ([a-zA-Z_{}][a-zA-Z0-9_{}]*)",
            if label { "" } else { ":" },
            if label { "" } else { ":" }
        )));
    }
    Ok(())
}

impl AppMetrics {
    pub(crate) fn load(read: &redb::ReadTransaction, max_series: usize) -> Result<AppMetrics> {
        let mut base = HashMap::new();
        match read.open_table(COUNTERS) {
            Ok(t) => {
                for row in t.range::<&str>(..)? {
                    let (k, v) = row?;
                    base.insert(k.value().to_owned(), v.value());
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(AppMetrics {
            families: RwLock::new(Vec::new()),
            base: Mutex::new(base),
            max_series,
            series_count: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            last_checkpoint: Mutex::new(None),
            closing: AtomicBool::new(false),
        })
    }

    /// Registers one of the store's own counters (the reserved prefix).
    pub(crate) fn register_internal(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<Arc<Family>> {
        self.register_as(name, help, Kind::Counter, labels, Vec::new(), true)
    }

    /// Registers a family, or returns the one registered under `name` with the same kind
    /// and labels.
    pub(crate) fn register(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[&str],
        bounds: Vec<f64>,
    ) -> Result<Arc<Family>> {
        self.register_as(name, help, kind, labels, bounds, false)
    }

    fn register_as(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[&str],
        bounds: Vec<f64>,
        internal: bool,
    ) -> Result<Arc<Family>> {
        check_name("metric name", name, false)?;
        if name.starts_with("hardstore_") && !internal {
            return Err(Error::InvalidArgument(format!(
                "metric name {name:?}: the hardstore_ prefix is reserved for the store's own"
            )));
        }
        if help.len() > MAX_HELP {
            return Err(Error::TooLong {
                field: "help",
                len: help.len(),
                max: MAX_HELP,
            });
        }
        // OpenMetrics has no escape for these in HELP: one would break the scrape.
        if help.chars().any(char::is_control) {
            return Err(Error::InvalidArgument(
                "a help text holds a control character (a newline, say)".into(),
            ));
        }
        if labels.len() > MAX_LABELS {
            return Err(Error::InvalidArgument(format!(
                "{} label names, more than {MAX_LABELS}",
                labels.len()
            )));
        }
        for (i, l) in labels.iter().enumerate() {
            check_name("label name", l, true)?;
            if l.starts_with("__") || (kind == Kind::Histogram && *l == "le") {
                return Err(Error::InvalidArgument(format!(
                    "label name {l:?} is reserved"
                )));
            }
            if labels[..i].contains(l) {
                return Err(Error::InvalidArgument(format!(
                    "label name {l:?} appears twice"
                )));
            }
        }
        if kind == Kind::Histogram
            && (bounds.is_empty()
                || bounds.iter().any(|b| !b.is_finite())
                || bounds.windows(2).any(|w| w[0] >= w[1]))
        {
            return Err(Error::InvalidArgument(
                "histogram buckets must be finite and strictly ascending, at least one".into(),
            ));
        }
        // Registered already (the usual case from C, which registers at every call): a
        // read lock suffices.
        if let Some(f) = self.families.read().iter().find(|f| f.name == name) {
            let same = f.kind == kind && f.labels == labels && f.bounds == bounds;
            return if same {
                Ok(f.clone())
            } else {
                Err(Error::InvalidArgument(format!(
                    "metric {name:?} is registered with another kind, labels or buckets"
                )))
            };
        }
        let mut fams = self.families.write();
        if let Some(f) = fams.iter().find(|f| f.name == name) {
            let same = f.kind == kind && f.labels == labels && f.bounds == bounds;
            return if same {
                Ok(f.clone())
            } else {
                Err(Error::InvalidArgument(format!(
                    "metric {name:?} is registered with another kind, labels or buckets"
                )))
            };
        }
        let f = Arc::new(Family {
            name: name.to_owned(),
            help: help.to_owned(),
            kind,
            labels: labels.iter().map(|s| (*s).to_owned()).collect(),
            bounds,
            series: RwLock::new(HashMap::new()),
        });
        fams.push(f.clone());
        drop(fams);
        if kind == Kind::Counter {
            // The stored series of this counter come back with it, so a scrape after a
            // restart shows each, touched yet or not.
            let stored: Vec<Vec<String>> = self
                .base
                .lock()
                .keys()
                .filter_map(|k| {
                    let mut parts = k.split('\0');
                    (parts.next() == Some(name))
                        .then(|| parts.map(str::to_owned).collect::<Vec<_>>())
                })
                .filter(|v: &Vec<String>| v.len() == labels.len())
                .collect();
            for values in stored {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                self.make_series(&f, &refs, internal)?;
            }
        }
        Ok(f)
    }

    /// The series of `family` with these label values, made on first use.
    pub(crate) fn series(&self, family: &Family, values: &[&str]) -> Result<Arc<Series>> {
        self.make_series(family, values, false)
    }

    /// A series of one of the store's own families: outside the app's cap.
    pub(crate) fn internal_series(&self, family: &Family, values: &[&str]) -> Result<Arc<Series>> {
        self.make_series(family, values, true)
    }

    fn make_series(&self, family: &Family, values: &[&str], internal: bool) -> Result<Arc<Series>> {
        if values.len() != family.labels.len() {
            self.refused.fetch_add(1, Relaxed);
            return Err(Error::InvalidArgument(format!(
                "metric {:?} has {} labels, not {}",
                family.name,
                family.labels.len(),
                values.len()
            )));
        }
        if let Some(v) = values
            .iter()
            .find(|v| v.len() > MAX_VALUE || v.contains('\0'))
        {
            self.refused.fetch_add(1, Relaxed);
            return Err(Error::InvalidArgument(format!(
                "a label value of {} bytes or holding NUL (at most {MAX_VALUE} bytes)",
                v.len()
            )));
        }
        let owned: Vec<String> = values.iter().map(|s| (*s).to_owned()).collect();
        if let Some(s) = family.series.read().get(&owned) {
            return Ok(s.clone());
        }
        let mut map = family.series.write();
        if let Some(s) = map.get(&owned) {
            return Ok(s.clone());
        }
        // Reserve a slot under the cap, or refuse.
        if !internal {
            let taken = self.series_count.fetch_add(1, Relaxed);
            if taken >= self.max_series as u64 {
                self.series_count.fetch_sub(1, Relaxed);
                self.refused.fetch_add(1, Relaxed);
                return Err(Error::LimitReached {
                    what: "metric series",
                    max: self.max_series,
                });
            }
        }
        let start = match family.kind {
            Kind::Counter => self
                .base
                .lock()
                .remove(&series_key(&family.name, &owned))
                .unwrap_or(0),
            _ => 0,
        };
        let s = Arc::new(Series {
            value: AtomicU64::new(start),
            persisted: AtomicU64::new(start),
            buckets: (0..=family.bounds.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            ..Series::default()
        });
        map.insert(owned, s.clone());
        Ok(s)
    }

    /// Whether a counter changed since it was last persisted.
    pub(crate) fn any_dirty(&self) -> bool {
        self.families
            .read()
            .iter()
            .filter(|f| f.kind == Kind::Counter)
            .any(|f| f.series.read().values().any(|s| s.dirty.load(Relaxed)))
    }

    /// Every counter series changed since it was last persisted: (key, series, value).
    pub(crate) fn dirty_counters(&self) -> Vec<(String, Arc<Series>, u64)> {
        let mut out = Vec::new();
        for f in self
            .families
            .read()
            .iter()
            .filter(|f| f.kind == Kind::Counter)
        {
            for (values, s) in f.series.read().iter() {
                if s.dirty.swap(false, Relaxed) {
                    out.push((
                        series_key(&f.name, values),
                        s.clone(),
                        s.value.load(Relaxed),
                    ));
                }
            }
        }
        out
    }
}

/// Writes every changed counter in `tx`; once it commits, exposition shows the values
/// written. A batch that fails marks them changed again.
pub(crate) fn persist(tx: &mut crate::WriteTx<'_>) -> Result<u64> {
    let Ok(app) = tx.shared::<Arc<AppMetrics>>() else {
        return Ok(0);
    };
    let app = app.clone();
    let dirty = app.dirty_counters();
    if dirty.is_empty() {
        return Ok(0);
    }
    let mut t = tx.tracked(COUNTERS)?;
    for (key, _, v) in &dirty {
        t.insert(key.as_str(), *v)?;
    }
    drop(t);
    let n = dirty.len() as u64;
    tx.after(Box::new(move |committed| {
        for (_, s, v) in dirty {
            if committed {
                s.persisted.fetch_max(v, Relaxed);
            } else {
                s.dirty.store(true, Relaxed);
            }
        }
    }));
    Ok(n)
}

/// How often checkpoints persist the counters, at most.
const CHECKPOINT_PERSIST_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The commit observer: a checkpoint (a synced commit) also persists the counters, so a
/// restart keeps what was counted up to it even without a scrape. At most once a
/// second (and at the close's final checkpoint): a store over a caller's backend makes
/// every durable batch a synced commit, and the operation counters change with every
/// call, so persisting at each would add rows to every durable write.
pub(crate) fn checkpoint_observer(tx: &mut crate::WriteTx<'_>) -> Result<()> {
    if !tx.commit_kind().1 {
        return Ok(());
    }
    let Ok(app) = tx.shared::<Arc<AppMetrics>>() else {
        return Ok(());
    };
    let due = {
        let mut last = app.last_checkpoint.lock();
        let due = app.closing.load(Relaxed)
            || last.is_none_or(|t| t.elapsed() >= CHECKPOINT_PERSIST_EVERY);
        if due {
            *last = Some(std::time::Instant::now());
        }
        due
    };
    if due {
        persist(tx)?;
    }
    Ok(())
}
