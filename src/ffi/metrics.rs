//! The C ABI for metrics: the store's figures as a struct, or as an exposition text.

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::hardstore_store;
use super::{arg, guard, hardstore_result, out};
use crate::error::Error;
use crate::metrics::{Format, MetricsSnapshot};

/// `hardstore_metrics_encode` format: the Prometheus text format, version 0.0.4.
pub const HARDSTORE_METRICS_PROMETHEUS: u32 = 0;
/// `hardstore_metrics_encode` format: OpenMetrics 1.0 text.
pub const HARDSTORE_METRICS_OPENMETRICS: u32 = 1;

/// Longest app metric or label name, in bytes.
pub const HARDSTORE_LIMIT_METRIC_NAME: usize = 128;
/// Longest label value, in bytes.
pub const HARDSTORE_LIMIT_METRIC_LABEL_VALUE: usize = 256;
/// Longest help text, in bytes.
pub const HARDSTORE_LIMIT_METRIC_HELP: usize = 1024;
/// The most labels an app metric may have.
pub const HARDSTORE_LIMIT_METRIC_LABELS: usize = 16;
/// The most buckets an app histogram may have (+Inf not counted).
pub const HARDSTORE_LIMIT_METRIC_BUCKETS: usize = 1024;

const _: () = assert!(HARDSTORE_LIMIT_METRIC_NAME == crate::metrics::MAX_NAME);
const _: () = assert!(HARDSTORE_LIMIT_METRIC_LABEL_VALUE == crate::metrics::MAX_VALUE);
const _: () = assert!(HARDSTORE_LIMIT_METRIC_HELP == crate::metrics::MAX_HELP);
const _: () = assert!(HARDSTORE_LIMIT_METRIC_LABELS == crate::metrics::MAX_LABELS);

/// The store's figures (the README's metrics table), from `hardstore_metrics_get`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_metrics_snapshot {
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

fn to_c(s: &MetricsSnapshot) -> hardstore_metrics_snapshot {
    hardstore_metrics_snapshot {
        audit_entries: s.audit_entries,
        log_entries_appended: s.log_entries_appended,
        log_ring_entries: s.log_ring_entries,
        dead_letters_pending: s.dead_letters_pending,
        dead_letters_leased: s.dead_letters_leased,
        dead_letters_done: s.dead_letters_done,
        dead_letters_dead: s.dead_letters_dead,
        alerts_unresolved: s.alerts_unresolved,
        alerts_resolved: s.alerts_resolved,
        restore_points: s.restore_points,
        backups_ok: s.backups_ok,
        backups_failed: s.backups_failed,
        file_bytes: s.file_bytes,
        write_batches: s.write_batches,
        writes: s.writes,
        write_syncs: s.write_syncs,
        uptime_seconds: s.uptime_seconds,
    }
}

/// Writes the store's figures now to `*out_snapshot`. Only reads.
#[no_mangle]
pub unsafe extern "C" fn hardstore_metrics_get(
    store: *const hardstore_store,
    out_snapshot: *mut hardstore_metrics_snapshot,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_snapshot, "out_snapshot")?;
        *o = to_c(&s.store.metrics().snapshot()?);
        Ok(())
    })
}

/// Writes the store's figures and the app's metrics as an exposition text in `format`
/// (`HARDSTORE_METRICS_PROMETHEUS` or `_OPENMETRICS`), UTF-8, to a new `*out_text` owned
/// by the caller (free with `hardstore_bytes_free`). It first persists the app counters
/// that changed since the last persist (one durable write, none when nothing changed),
/// so a counter it shows never goes back.
#[no_mangle]
pub unsafe extern "C" fn hardstore_metrics_encode(
    store: *const hardstore_store,
    format: u32,
    out_text: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let f = match format {
            HARDSTORE_METRICS_PROMETHEUS => Format::Prometheus,
            HARDSTORE_METRICS_OPENMETRICS => Format::OpenMetrics,
            other => {
                return Err(
                    Error::InvalidArgument(format!("metrics format {other} is not 0 or 1")).into(),
                )
            }
        };
        let o = out(out_text, "out_text")?;
        let text = s.store.metrics().encode(f)?;
        give_bytes(text.into_bytes(), o);
        Ok(())
    })
}

/// A label of an app metric series: its name and value (UTF-8, not NUL-terminated).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_label {
    /// The label's name (`[a-zA-Z_][a-zA-Z0-9_]*`).
    pub name: *const u8,
    /// Its length.
    pub name_len: usize,
    /// The label's value (at most 256 bytes, no NUL).
    pub value: *const u8,
    /// Its length.
    pub value_len: usize,
}

/// The labels' names and values, checked.
unsafe fn labels_arg<'a>(
    labels: *const hardstore_label,
    n: usize,
) -> super::FfiResult<(Vec<&'a str>, Vec<&'a str>)> {
    if n > crate::metrics::MAX_LABELS {
        return Err(Error::InvalidArgument(format!(
            "{n} labels, more than {}",
            crate::metrics::MAX_LABELS
        ))
        .into());
    }
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    if labels.is_null() {
        return Err(super::FfiError::Null("labels"));
    }
    let mut names = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    for l in std::slice::from_raw_parts(labels, n) {
        names.push(super::str_arg(
            l.name,
            l.name_len,
            "label name",
            crate::metrics::MAX_NAME,
        )?);
        values.push(super::str_arg(
            l.value,
            l.value_len,
            "label value",
            crate::metrics::MAX_VALUE,
        )?);
    }
    Ok((names, values))
}

unsafe fn name_help<'a>(
    name: *const u8,
    name_len: usize,
    help: *const u8,
    help_len: usize,
) -> super::FfiResult<(&'a str, &'a str)> {
    Ok((
        super::str_arg(name, name_len, "name", crate::metrics::MAX_NAME)?,
        super::str_arg(help, help_len, "help", crate::metrics::MAX_HELP)?,
    ))
}

/// Adds `by` to the app counter `name` (registered on first use with `help` and the
/// labels' names) for the labels' values. Counters are durable: a scrape, a checkpoint
/// or `hardstore_metrics_persist` writes them. A new series past the store's cap is
/// `HARDSTORE_LIMIT_REACHED` and counted; a name registered with other labels or as
/// another kind is `HARDSTORE_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_metrics_counter_add(
    store: *const hardstore_store,
    name: *const u8,
    name_len: usize,
    help: *const u8,
    help_len: usize,
    labels: *const hardstore_label,
    labels_len: usize,
    by: u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (name, help) = name_help(name, name_len, help, help_len)?;
        let (names, values) = labels_arg(labels, labels_len)?;
        s.store
            .metrics()
            .counter(name, help, &names)?
            .with(&values)?
            .inc_by(by);
        Ok(())
    })
}

/// Sets the app gauge `name` (registered on first use) for the labels' values. Gauges
/// live in memory.
#[no_mangle]
pub unsafe extern "C" fn hardstore_metrics_gauge_set(
    store: *const hardstore_store,
    name: *const u8,
    name_len: usize,
    help: *const u8,
    help_len: usize,
    labels: *const hardstore_label,
    labels_len: usize,
    value: i64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (name, help) = name_help(name, name_len, help, help_len)?;
        let (names, values) = labels_arg(labels, labels_len)?;
        s.store
            .metrics()
            .gauge(name, help, &names)?
            .with(&values)?
            .set(value);
        Ok(())
    })
}

/// Counts one observation of `value` in the app histogram `name` (registered on first
/// use with the `buckets_len` upper bounds at `buckets`: finite, ascending; +Inf is
/// added). Histograms live in memory.
#[no_mangle]
pub unsafe extern "C" fn hardstore_metrics_histogram_observe(
    store: *const hardstore_store,
    name: *const u8,
    name_len: usize,
    help: *const u8,
    help_len: usize,
    labels: *const hardstore_label,
    labels_len: usize,
    buckets: *const f64,
    buckets_len: usize,
    value: f64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (name, help) = name_help(name, name_len, help, help_len)?;
        let (names, values) = labels_arg(labels, labels_len)?;
        if buckets_len > 1024 {
            return Err(
                Error::InvalidArgument(format!("{buckets_len} buckets, more than 1024")).into(),
            );
        }
        let bounds: &[f64] = if buckets_len == 0 {
            &[]
        } else if buckets.is_null() {
            return Err(super::FfiError::Null("buckets"));
        } else {
            std::slice::from_raw_parts(buckets, buckets_len)
        };
        s.store
            .metrics()
            .histogram(name, help, &names, bounds)?
            .with(&values)?
            .observe(value);
        Ok(())
    })
}

/// Makes every app counter's current value durable (one durable write when any changed)
/// and writes how many series it wrote to `*out_written`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_metrics_persist(
    store: *const hardstore_store,
    out_written: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_written, "out_written")?;
        *o = s.store.metrics().persist()?;
        Ok(())
    })
}

/// For a new open: the most app metric series (all families together; default 10,000).
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_metrics_max_series(
    options: *mut super::store::hardstore_options,
    max: usize,
) -> hardstore_result {
    guard(|| {
        let o = super::arg_mut(options, "options")?;
        o.inner = o.inner.clone().metrics_max_series(max);
        Ok(())
    })
}

/// Writes how many app series were refused (over the cap, or malformed labels) since
/// the open.
#[no_mangle]
pub unsafe extern "C" fn hardstore_metrics_refused(
    store: *const hardstore_store,
    out_n: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_n, "out_n")?;
        *o = s.store.metrics().refused()?;
        Ok(())
    })
}
