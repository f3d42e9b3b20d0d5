//! The health checks, one function each. A check returns its component; an error while
//! checking becomes a critical component naming it (`run` catches both errors and
//! panics), so one failing check never hides the others.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use super::{disk, Component, Grade, HealthShared, HealthThresholds};
use crate::backup::BackupResult;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::store::Store;

/// The newest log entries the request figures look at, at most.
pub(crate) const REQUESTS_SAMPLED: usize = 4096;
/// The runs the backup success rate covers: those of this window.
const BACKUP_RATE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

fn component(
    name: &'static str,
    status: Grade,
    reason: String,
    value: Option<f64>,
    unit: &'static str,
) -> Component {
    Component {
        name,
        status,
        reason,
        value,
        unit,
    }
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Every check, in the documented order.
pub(crate) fn run(
    store: &Store,
    shared: &HealthShared,
    t: &HealthThresholds,
    now: Timestamp,
    deep: bool,
) -> Vec<Component> {
    type Check<'a> = (&'static str, Box<dyn FnOnce() -> Result<Component> + 'a>);
    let mut list: Vec<Check<'_>> = vec![
        ("writer", Box::new(|| Ok(writer(store)))),
        ("audit", Box::new(|| audit(store, shared))),
        ("dead_letters", Box::new(|| dead_letters(store, t))),
        ("backups", Box::new(|| backups(store, t, now))),
        ("restore_points", Box::new(|| restore_points(store))),
        ("requests", Box::new(|| requests(store, t, now))),
        ("file_size", Box::new(|| file_size(store, t))),
        ("disk_free", Box::new(|| disk_free(store, t))),
    ];
    if store.replication_status().is_some() {
        list.push(("replication", Box::new(|| Ok(replication(store, now)))));
    }
    if deep {
        list.push(("integrity", Box::new(|| integrity(store))));
    }
    list.into_iter()
        .map(
            |(name, check)| match catch_unwind(AssertUnwindSafe(check)) {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => component(
                    name,
                    Grade::Critical,
                    format!("the check failed: {e}"),
                    None,
                    "",
                ),
                Err(_) => component(name, Grade::Critical, "the check panicked".into(), None, ""),
            },
        )
        .collect()
}

/// Replication's lag (seconds since the oldest batch not in the replica committed):
/// degraded while uploads fail or past a minute, critical once shipping stopped.
fn replication(store: &Store, now: Timestamp) -> Component {
    let Some(st) = store.replication_status() else {
        return component(
            "replication",
            Grade::Healthy,
            "not replicating".into(),
            None,
            "",
        );
    };
    let lag = st
        .oldest_unshipped
        .map_or(0.0, |t| now.saturating_sub(t) as f64 / 1e6);
    let (grade, reason) = if st.fenced {
        (
            Grade::Critical,
            "another writer published to the replica: shipping stopped".into(),
        )
    } else if st.stopped {
        (Grade::Critical, "shipping stopped".into())
    } else if let Some(e) = &st.last_error {
        (
            Grade::Degraded,
            format!("uploads to {} fail: {e}", st.target),
        )
    } else if lag > 60.0 {
        (
            Grade::Degraded,
            format!("{} batches wait for the replica", st.lag_batches),
        )
    } else {
        (Grade::Healthy, format!("{} batches behind", st.lag_batches))
    };
    component("replication", grade, reason, Some(lag), "seconds")
}

fn writer(store: &Store) -> Component {
    if store.is_poisoned() {
        component(
            "writer",
            Grade::Critical,
            "an I/O failure poisoned the store: writes are refused until it is reopened".into(),
            Some(1.0),
            "count",
        )
    } else {
        component(
            "writer",
            Grade::Healthy,
            "accepting writes".into(),
            Some(0.0),
            "count",
        )
    }
}

/// Verifies what was appended since the last check; a problem keeps the verified
/// prefix where it was, so every later check reports it again.
fn audit(store: &Store, shared: &HealthShared) -> Result<Component> {
    let mut verified = shared.verified.lock();
    let before = verified.size;
    let (size, checked, bad) = store.audit().verify_since(&verified)?;
    if let Some((seq, problem)) = bad {
        return Ok(component(
            "audit",
            Grade::Critical,
            format!("the audit log does not verify at seq {seq}: {problem}"),
            Some(seq as f64),
            "entries",
        ));
    }
    *verified = checked;
    Ok(component(
        "audit",
        Grade::Healthy,
        format!(
            "{size} entries verified ({} since the last check)",
            size - before
        ),
        Some(size as f64),
        "entries",
    ))
}

fn dead_letters(store: &Store, t: &HealthThresholds) -> Result<Component> {
    let dead = store.dead_letters().counts()?.dead;
    let status = if dead >= t.dead_letters_critical {
        Grade::Critical
    } else if dead >= t.dead_letters_degraded {
        Grade::Degraded
    } else {
        Grade::Healthy
    };
    Ok(component(
        "dead_letters",
        status,
        format!(
            "{dead} dead letters dead and not purged (degraded at {}, critical at {})",
            t.dead_letters_degraded, t.dead_letters_critical
        ),
        Some(dead as f64),
        "count",
    ))
}

fn backups(store: &Store, t: &HealthThresholds, now: Timestamp) -> Result<Component> {
    let all = store.backups().list()?;
    let every = store.settings().get().backup_schedule.full_every;
    let last_ok = all
        .iter()
        .filter(|r| r.result == BackupResult::Ok)
        .map(|r| r.started)
        .max();
    let Some(last) = last_ok else {
        let (status, why) = if t.backups_expected {
            (
                Grade::Degraded,
                "no successful backup yet, and backups are expected",
            )
        } else if all.is_empty() {
            (
                Grade::Healthy,
                "no backups cataloged (not expected: HealthThresholds::backups_expected)",
            )
        } else {
            (Grade::Critical, "backups were run but none succeeded")
        };
        return Ok(component("backups", status, why.into(), None, "us"));
    };
    let age = now.saturating_sub(last);
    let since = now.saturating_sub(us(BACKUP_RATE_WINDOW));
    let rate = store.backups().success_rate(since)?;
    let period = us(every).max(1);
    let status = if age > period.saturating_mul(2) || rate.rate < 0.5 {
        Grade::Critical
    } else if age > period || rate.failed > 0 {
        Grade::Degraded
    } else {
        Grade::Healthy
    };
    Ok(component(
        "backups",
        status,
        format!(
            "last successful backup {}s ago (a full is due every {}s); {} of {} runs in 7 days succeeded",
            age / 1_000_000,
            every.as_secs(),
            rate.ok,
            rate.ok + rate.failed
        ),
        Some(age as f64),
        "us",
    ))
}

fn restore_points(store: &Store) -> Result<Component> {
    let (points, pinned) = store.restore_points().held()?;
    let max = store.settings().get().max_restore_points;
    let status = if points >= max {
        Grade::Degraded
    } else {
        Grade::Healthy
    };
    Ok(component(
        "restore_points",
        status,
        format!(
            "{} of {} restore points, keeping {} bytes of old values{}",
            points,
            max,
            pinned,
            if status == Grade::Degraded {
                "; at the cap, the next create is refused"
            } else {
                ""
            }
        ),
        Some(points as f64 / max.max(1) as f64),
        "ratio",
    ))
}

fn requests(store: &Store, t: &HealthThresholds, now: Timestamp) -> Result<Component> {
    let from = now.saturating_sub(us(t.window));
    let mut r = store.logs().recent(from, REQUESTS_SAMPLED)?;
    if r.total == 0 {
        return Ok(component(
            "requests",
            Grade::Healthy,
            format!("no log entries in the last {}s", t.window.as_secs()),
            None,
            "ratio",
        ));
    }
    let permille = r.errors * 1000 / r.total;
    r.durations_us.sort_unstable();
    // Nearest rank, as the ring's own stats compute it.
    let p95 = (!r.durations_us.is_empty()).then(|| {
        let rank = (r.durations_us.len() * 95).div_ceil(100).max(1);
        r.durations_us[rank - 1]
    });
    let grade_of = |v: u64, degraded: u64, critical: u64| {
        if v >= critical {
            Grade::Critical
        } else if v >= degraded {
            Grade::Degraded
        } else {
            Grade::Healthy
        }
    };
    let by_errors = grade_of(
        permille,
        u64::from(t.error_permille_degraded),
        u64::from(t.error_permille_critical),
    );
    let by_latency = p95.map_or(Grade::Healthy, |p| {
        grade_of(p, us(t.p95_degraded), us(t.p95_critical))
    });
    let sampled = if r.capped {
        format!(
            "the newest {} entries of the last {}s",
            r.total,
            t.window.as_secs()
        )
    } else {
        format!("{} entries in the last {}s", r.total, t.window.as_secs())
    };
    let latency = match p95 {
        Some(p) => format!("p95 {} ms", p as f64 / 1000.0),
        None => "no durations".into(),
    };
    Ok(component(
        "requests",
        by_errors.max(by_latency),
        format!(
            "{sampled}: error rate {:.1}% (degraded at {:.1}%), {latency} (degraded at {} ms)",
            permille as f64 / 10.0,
            t.error_permille_degraded as f64 / 10.0,
            t.p95_degraded.as_millis()
        ),
        Some(r.errors as f64 / r.total as f64),
        "ratio",
    ))
}

/// The store file's bytes and its redo log's; `None` for a store not in a file.
pub(crate) fn file_bytes(store: &Store) -> Option<u64> {
    let path = store.path();
    let main = std::fs::metadata(path).ok()?.len();
    let redo = std::fs::metadata(crate::redo::RedoLog::path_for(path)).map_or(0, |m| m.len());
    Some(main + redo)
}

fn file_size(store: &Store, t: &HealthThresholds) -> Result<Component> {
    let Some(bytes) = file_bytes(store) else {
        return Ok(component(
            "file_size",
            Grade::Healthy,
            "the store is not in a file".into(),
            None,
            "bytes",
        ));
    };
    let (status, limit) = match t.file_size_limit {
        None => (Grade::Healthy, "no limit set".to_string()),
        Some(l) if bytes >= l => (Grade::Critical, format!("at or over the limit of {l}")),
        Some(l) if bytes >= l / 10 * 9 => {
            (Grade::Degraded, format!("over 90% of the limit of {l}"))
        }
        Some(l) => (Grade::Healthy, format!("the limit is {l}")),
    };
    Ok(component(
        "file_size",
        status,
        format!("{bytes} bytes with the redo log; {limit}"),
        Some(bytes as f64),
        "bytes",
    ))
}

fn disk_free(store: &Store, t: &HealthThresholds) -> Result<Component> {
    if file_bytes(store).is_none() {
        return Ok(component(
            "disk_free",
            Grade::Healthy,
            "the store is not in a file".into(),
            None,
            "bytes",
        ));
    }
    let dir = match store.path().parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let Some(free) = disk::free_bytes(&dir)? else {
        return Ok(component(
            "disk_free",
            Grade::Healthy,
            "free space is not measured on this platform".into(),
            None,
            "bytes",
        ));
    };
    let status = if free < t.disk_free_critical {
        Grade::Critical
    } else if free < t.disk_free_degraded {
        Grade::Degraded
    } else {
        Grade::Healthy
    };
    Ok(component(
        "disk_free",
        status,
        format!(
            "{free} bytes free on {} (degraded under {}, critical under {})",
            dir.display(),
            t.disk_free_degraded,
            t.disk_free_critical
        ),
        Some(free as f64),
        "bytes",
    ))
}

/// The deep check: the whole audit log, every table's rows, every restore point.
fn integrity(store: &Store) -> Result<Component> {
    let report = store.audit().verify()?;
    if let (Some(seq), problem) = (report.first_bad_seq, &report.problem) {
        return Ok(component(
            "integrity",
            Grade::Critical,
            format!(
                "the audit log does not verify at seq {seq}: {}",
                problem.as_deref().unwrap_or("")
            ),
            Some(seq as f64),
            "count",
        ));
    }
    let read = store.begin_read()?;
    let mut rows = 0u64;
    for table in crate::engine::catalog::all() {
        table.for_each_row(&read, &mut |_, _| {
            rows += 1;
            Ok(())
        })?;
    }
    drop(read);
    let points = store.restore_points().list()?;
    for p in &points {
        if let Err(e) = store.restore_points().verify(p.id) {
            return Ok(component(
                "integrity",
                Grade::Critical,
                format!("restore point {} does not verify: {e}", p.id),
                Some(rows as f64),
                "count",
            ));
        }
    }
    Ok(component(
        "integrity",
        Grade::Healthy,
        format!(
            "{} audit entries verified, {rows} rows read in every table, {} restore points verified",
            report.size,
            points.len()
        ),
        Some(rows as f64),
        "count",
    ))
}
