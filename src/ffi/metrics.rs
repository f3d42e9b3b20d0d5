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

/// Writes the store's figures as an exposition text in `format`
/// (`HARDSTORE_METRICS_PROMETHEUS` or `_OPENMETRICS`), UTF-8, to a new `*out_text` owned
/// by the caller (free with `hardstore_bytes_free`). Only reads.
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
