//! The store's own operation counters: how many calls of each area's API ended how.
//! They are durable counters like the app's (kept in `metrics.counters`, shown as
//! persisted), under the reserved `hardstore_` prefix, outside the app's series cap.

use std::collections::HashMap;
use std::sync::Arc;

use super::app::AppMetrics;
use super::CounterSeries;
use crate::error::{Error, Result};
use crate::store::Store;

/// `(area, operation, outcome)`.
type Key = (&'static str, &'static str, &'static str);

/// FNV-1a (`engine::fnv`): the keys are a few short static strings, looked up on every
/// API call, made at open.
type FastMap = HashMap<Key, CounterSeries, crate::engine::fnv::FnvBuild>;

/// The operation counters of one open (a shared object).
#[derive(Debug)]
pub(crate) struct EngineCounters {
    attempts: CounterSeries,
    replays: CounterSeries,
    /// Every (area, operation, outcome) series, made at open: built once, read
    /// without a lock on the hot path.
    cache: FastMap,
}

/// Every counted operation, by area.
const OPS: &[(&str, &[&str])] = &[
    ("audit", &["append"]),
    ("logs", &["append"]),
    ("idempotency", &["begin", "complete", "fail", "release"]),
    (
        "dead_letters",
        &["record", "claim", "ack", "fail", "redrive"],
    ),
    ("alerts", &["raise", "acknowledge", "resolve"]),
    ("kv", &["put", "delete"]),
    ("backups", &["run"]),
    ("restore_points", &["create", "restore"]),
];
/// Every outcome (`begin` answers with its own four besides).
const OUTCOMES: &[&str] = &["ok", "refused", "fenced", "error"];
const BEGIN_OUTCOMES: &[&str] = &["started", "replay", "in_progress", "mismatch"];

/// How a call ended, as a label.
pub(crate) fn outcome<T>(r: &Result<T>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(Error::Fenced(_)) => "fenced",
        Err(
            Error::InvalidArgument(_)
            | Error::TooLong { .. }
            | Error::InvalidUtf8(_)
            | Error::NotFound(_)
            | Error::LimitReached { .. }
            | Error::ConfirmationRequired { .. },
        ) => "refused",
        Err(_) => "error",
    }
}

impl EngineCounters {
    pub(crate) fn new(app: Arc<AppMetrics>) -> Result<Self> {
        let ops = app.register_internal(
            "hardstore_operations",
            "Calls of each area's API, by how they ended (ok, refused, fenced, error).",
            &["area", "op", "outcome"],
        )?;
        let attempts = app.register_internal(
            "hardstore_dead_letter_attempts",
            "Dead-letter attempts: items handed to workers by claims.",
            &[],
        )?;
        let replays = app.register_internal(
            "hardstore_redo_replayed_batches",
            "Durable batches applied from the redo log at opens (after a crash).",
            &[],
        )?;
        let mut cache = FastMap::default();
        for &(area, ops_of) in OPS {
            for &op in ops_of {
                let extra: &[&'static str] = if op == "begin" { BEGIN_OUTCOMES } else { &[] };
                for &outcome in OUTCOMES.iter().chain(extra) {
                    let s = app.internal_series(&ops, &[area, op, outcome])?;
                    cache.insert((area, op, outcome), CounterSeries(s));
                }
            }
        }
        Ok(Self {
            attempts: CounterSeries(app.internal_series(&attempts, &[])?),
            replays: CounterSeries(app.internal_series(&replays, &[])?),
            cache,
        })
    }

    fn series(&self, key: Key) -> Option<&CounterSeries> {
        self.cache.get(&key)
    }

    pub(crate) fn replayed(&self, n: u64) {
        if n > 0 {
            self.replays.inc_by(n);
        }
    }
}

/// Counts one call of `area`'s `op` that ended as `r`, and returns `r`.
pub(crate) fn count<T>(
    store: &Store,
    area: &'static str,
    op: &'static str,
    r: Result<T>,
) -> Result<T> {
    count_as(store, area, op, outcome(&r));
    r
}

/// Counts one call of `area`'s `op` with the outcome label `outcome`.
pub(crate) fn count_as(store: &Store, area: &'static str, op: &'static str, outcome: &'static str) {
    if let Ok(e) = store.shared::<EngineCounters>() {
        if let Some(s) = e.series((area, op, outcome)) {
            s.inc();
        }
    }
}

/// Counts `n` dead-letter attempts (items a claim handed out).
pub(crate) fn attempts(store: &Store, n: u64) {
    if let Ok(e) = store.shared::<EngineCounters>() {
        e.attempts.inc_by(n);
    }
}
