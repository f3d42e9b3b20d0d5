//! The C ABI for maintenance: one run with its report, the janitor, the alert retention.

use std::path::PathBuf;
use std::time::Duration;

use super::settings::{change, hardstore_setting_change};
use super::store::{hardstore_options, hardstore_store, HARDSTORE_MAX_PATH};
use super::{arg, arg_mut, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::error::Error;
use crate::maintenance::{MaintenanceOptions, MaintenanceReport};

/// A maintenance report's counts, from `hardstore_maintenance_report_summary`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_maintenance_summary {
    /// Expired idempotency keys deleted.
    pub idempotency_expired: u64,
    /// Dead letters deleted (Done or Dead past their retention).
    pub dead_letters_purged: u64,
    /// Resolved alerts deleted (past the alert retention).
    pub alerts_purged: u64,
    /// Whether a due backup was run.
    pub backup_run: bool,
    /// Its catalog id (0 when none was run).
    pub backup_id: u64,
    /// Backups the retention setting dropped.
    pub backups_pruned: u64,
    /// A task stopped at its step with more due: run again.
    pub more_due: bool,
    /// Tasks that failed (see `hardstore_maintenance_report_error`).
    pub errors: usize,
    /// Sealed fields' data keys re-wrapped by the primary key (a rotation's step).
    pub keys_rewrapped: u64,
    /// Audit entries whose payloads were pruned past the audit retention.
    pub audit_pruned: u64,
}

/// What the janitor did, from `hardstore_store_janitor_status`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_janitor_status {
    /// Whether the store has a janitor (`hardstore_options_set_janitor`).
    pub present: bool,
    /// Runs finished.
    pub runs: u64,
    /// Whether the last run as a whole failed.
    pub last_run_failed: bool,
    /// Tasks that failed in the last run.
    pub last_task_errors: usize,
}

/// A maintenance report. Free with `hardstore_maintenance_report_free`.
pub struct hardstore_maintenance_report {
    inner: MaintenanceReport,
}

unsafe fn folder_arg(p: *const u8, len: usize) -> FfiResult<Option<PathBuf>> {
    let s = str_arg(p, len, "backup_folder", HARDSTORE_MAX_PATH)?;
    Ok((!s.is_empty()).then(|| PathBuf::from(s)))
}

/// Runs every cleanup that is due (see the README), at most `step` items per task (0: the
/// default, 10,000), into a new `*out_report` owned by the caller. With a non-empty
/// `backup_folder` (UTF-8), the backup the schedule has due is run into it.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_maintenance(
    store: *const hardstore_store,
    step: usize,
    backup_folder: *const u8,
    backup_folder_len: usize,
    out_report: *mut *mut hardstore_maintenance_report,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let mut opts = MaintenanceOptions::new();
        if step != 0 {
            opts = opts.step(step);
        }
        if let Some(f) = folder_arg(backup_folder, backup_folder_len)? {
            opts = opts.backups_into(f);
        }
        let o = out(out_report, "out_report")?;
        let inner = s.store.maintenance(&opts)?;
        *o = Box::into_raw(Box::new(hardstore_maintenance_report { inner }));
        Ok(())
    })
}

/// Writes the report's counts to `*out_summary`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_maintenance_report_summary(
    report: *const hardstore_maintenance_report,
    out_summary: *mut hardstore_maintenance_summary,
) -> hardstore_result {
    guard(|| {
        let r = &arg(report, "report")?.inner;
        let o = out(out_summary, "out_summary")?;
        *o = hardstore_maintenance_summary {
            idempotency_expired: r.idempotency_expired,
            dead_letters_purged: r.dead_letters_purged,
            alerts_purged: r.alerts_purged,
            backup_run: r.backup.is_some(),
            backup_id: r.backup.as_ref().map_or(0, |b| b.id),
            backups_pruned: r.backups_pruned,
            more_due: r.more_due,
            errors: r.errors.len(),
            keys_rewrapped: r.keys_rewrapped,
            audit_pruned: r.audit_pruned,
        };
        Ok(())
    })
}

/// Points the out-parameters at failed task `index`'s name and error (UTF-8, not
/// NUL-terminated, valid as long as the report); an index past the end is
/// `HARDSTORE_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_maintenance_report_error(
    report: *const hardstore_maintenance_report,
    index: usize,
    out_task: *mut *const u8,
    out_task_len: *mut usize,
    out_error: *mut *const u8,
    out_error_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let r = &arg(report, "report")?.inner;
        let (ot, otl) = (
            out(out_task, "out_task")?,
            out(out_task_len, "out_task_len")?,
        );
        let (oe, oel) = (
            out(out_error, "out_error")?,
            out(out_error_len, "out_error_len")?,
        );
        let e = r.errors.get(index).ok_or_else(|| {
            Error::InvalidArgument(format!("error {index} of a report of {}", r.errors.len()))
        })?;
        *ot = e.task.as_ptr();
        *otl = e.task.len();
        *oe = e.error.as_ptr();
        *oel = e.error.len();
        Ok(())
    })
}

/// Frees a report. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_maintenance_report_free(
    report: *mut hardstore_maintenance_report,
) {
    free_box(report);
}

/// Runs maintenance every `interval_us` (above 0) on a thread of the store's own, from
/// the open until `hardstore_store_close`. With a non-empty `backup_folder`, it also runs
/// the backups the schedule has due, into it.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_janitor(
    options: *mut hardstore_options,
    interval_us: u64,
    backup_folder: *const u8,
    backup_folder_len: usize,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        if interval_us == 0 {
            return Err(
                Error::InvalidArgument("the janitor's interval must be above zero".into()).into(),
            );
        }
        let folder = folder_arg(backup_folder, backup_folder_len)?;
        let mut next = o.inner.clone().janitor(Duration::from_micros(interval_us));
        if let Some(f) = folder {
            next = next.janitor_backups(f);
        }
        o.inner = next;
        Ok(())
    })
}

/// Writes what the janitor did to `*out_status` (`present` false without one).
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_janitor_status(
    store: *const hardstore_store,
    out_status: *mut hardstore_janitor_status,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_status, "out_status")?;
        let st = s.store.janitor_status();
        *o = hardstore_janitor_status {
            present: st.is_some(),
            runs: st.as_ref().map_or(0, |j| j.runs),
            last_run_failed: st.as_ref().is_some_and(|j| j.last_error.is_some()),
            last_task_errors: st
                .as_ref()
                .and_then(|j| j.last.as_ref())
                .map_or(0, |r| r.errors.len()),
        };
        Ok(())
    })
}

/// For a new store: how long resolved alerts are kept before maintenance deletes them,
/// microseconds (default 30 days). An existing store keeps its own.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_alert_retention_us(
    options: *mut hardstore_options,
    micros: u64,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        o.inner = o
            .inner
            .clone()
            .alert_retention(Duration::from_micros(micros));
        Ok(())
    })
}

/// Writes the store's alert retention, microseconds.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_get_alert_retention_us(
    store: *const hardstore_store,
    out_us: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_us, "out_us")?;
        *o =
            u64::try_from(s.store.settings().get().alert_retention.as_micros()).unwrap_or(u64::MAX);
        Ok(())
    })
}

/// Sets how long resolved alerts are kept, in an audited write by `actor` (nothing is
/// deleted until maintenance runs).
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_alert_retention_us(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    micros: u64,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| -> FfiResult {
        change(store, actor, actor_len, out_change, |s| {
            s.set_alert_retention(Duration::from_micros(micros))
        })
    })
}

/// Writes the janitor's last error to a new `*out_error` (UTF-8, owned by the caller:
/// free with `hardstore_bytes_free`): the error of its last run when the run as a whole
/// failed, else the first failed task's (`task: error`). NULL when there is none, or no
/// janitor.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_janitor_last_error(
    store: *const hardstore_store,
    out_error: *mut *mut super::bytes::hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_error, "out_error")?;
        let st = s.store.janitor_status();
        let msg = st.and_then(|j| {
            j.last_error.or_else(|| {
                j.last
                    .and_then(|r| r.errors.first().map(|e| format!("{}: {}", e.task, e.error)))
            })
        });
        match msg {
            Some(m) => super::bytes::give_bytes(m.into_bytes(), o),
            None => *o = std::ptr::null_mut(),
        }
        Ok(())
    })
}

/// Sets how long audit entries keep their payloads before maintenance prunes them,
/// keeping their leaf hashes (`age_us` 0: for ever, the default; else at least one
/// day), in an audited write by `actor`. Setting it is the confirmation maintenance's
/// prunes run under; nothing is pruned until maintenance runs.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_audit_retention_us(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    age_us: u64,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| -> FfiResult {
        change(store, actor, actor_len, out_change, |s| {
            s.set_audit_retention((age_us != 0).then(|| Duration::from_micros(age_us)))
        })
    })
}

/// Writes the audit retention (microseconds; 0: for ever) to `*out_age_us`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_get_audit_retention_us(
    store: *const hardstore_store,
    out_age_us: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_age_us, "out_age_us")?;
        *o = s
            .store
            .settings()
            .get()
            .audit_retention
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Ok(())
    })
}
