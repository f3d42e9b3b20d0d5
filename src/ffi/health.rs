//! The C ABI for health: a report of graded components, and the thresholds (a setting).

use std::time::Duration;

use super::settings::{change, hardstore_setting_change};
use super::store::{hardstore_options, hardstore_store};
use super::{arg, arg_mut, free_box, guard, hardstore_result, out, FfiResult};
use crate::error::Error;
use crate::health::{Grade, HealthOptions, HealthReport, HealthThresholds};

/// A grade: working as it should.
pub const HARDSTORE_HEALTHY: u32 = 0;
/// A grade: working, but something needs attention soon.
pub const HARDSTORE_DEGRADED: u32 = 1;
/// A grade: broken, or about to lose something.
pub const HARDSTORE_CRITICAL: u32 = 2;

/// Where health grades healthy, degraded and critical (see the README). Durations are
/// microseconds; 0 in `file_size_limit` means no limit. Fill with
/// `hardstore_health_thresholds_default`, then change fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_health_thresholds {
    /// The window of the request figures, counted back from now.
    pub window_us: u64,
    /// Errors per thousand requests that degrade.
    pub error_permille_degraded: u32,
    /// Errors per thousand requests that are critical.
    pub error_permille_critical: u32,
    /// A p95 request duration that degrades.
    pub p95_degraded_us: u64,
    /// A p95 request duration that is critical.
    pub p95_critical_us: u64,
    /// Dead letters (dead, not purged) that degrade.
    pub dead_letters_degraded: u64,
    /// Dead letters that are critical.
    pub dead_letters_critical: u64,
    /// The file size (with the redo log) that is critical, 90% of it degrades; 0: none.
    pub file_size_limit: u64,
    /// Free bytes below which it is degraded.
    pub disk_free_degraded: u64,
    /// Free bytes below which it is critical.
    pub disk_free_critical: u64,
    /// Whether a store with no successful backup is degraded.
    pub backups_expected: bool,
}

/// A health report's totals, from `hardstore_health_report_summary`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_health_summary {
    /// `HARDSTORE_HEALTHY`, `_DEGRADED` or `_CRITICAL`: the worst component's.
    pub grade: u32,
    /// Time since the store was opened, microseconds.
    pub uptime_us: u64,
    /// When the checks ran (the store's clock).
    pub checked_at: u64,
    /// How many components the report holds.
    pub components: usize,
    /// Alerts the check raised (with `raise_alerts`).
    pub alerts_raised: u64,
    /// Alerts the check resolved.
    pub alerts_resolved: u64,
}

/// One component, from `hardstore_health_report_component`. Its strings (UTF-8, not
/// NUL-terminated) are borrowed from the report and valid as long as it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_health_component {
    /// The check's name (`writer`, `audit`, ...).
    pub name: *const u8,
    /// Its length.
    pub name_len: usize,
    /// `HARDSTORE_HEALTHY`, `_DEGRADED` or `_CRITICAL`.
    pub status: u32,
    /// Why, for a person.
    pub reason: *const u8,
    /// Its length.
    pub reason_len: usize,
    /// Whether `value` holds a measured figure.
    pub has_value: bool,
    /// The figure, in `unit`.
    pub value: f64,
    /// The figure's unit (`bytes`, `ratio`, `us`, `entries`, `count`).
    pub unit: *const u8,
    /// Its length.
    pub unit_len: usize,
}

/// A health report. Free with `hardstore_health_report_free`.
pub struct hardstore_health_report {
    inner: HealthReport,
}

fn grade_code(g: Grade) -> u32 {
    g as u32
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn thresholds_to_c(t: &HealthThresholds) -> hardstore_health_thresholds {
    hardstore_health_thresholds {
        window_us: us(t.window),
        error_permille_degraded: t.error_permille_degraded,
        error_permille_critical: t.error_permille_critical,
        p95_degraded_us: us(t.p95_degraded),
        p95_critical_us: us(t.p95_critical),
        dead_letters_degraded: t.dead_letters_degraded,
        dead_letters_critical: t.dead_letters_critical,
        file_size_limit: t.file_size_limit.unwrap_or(0),
        disk_free_degraded: t.disk_free_degraded,
        disk_free_critical: t.disk_free_critical,
        backups_expected: t.backups_expected,
    }
}

fn thresholds_from_c(c: &hardstore_health_thresholds) -> FfiResult<HealthThresholds> {
    let t = HealthThresholds {
        window: Duration::from_micros(c.window_us),
        error_permille_degraded: c.error_permille_degraded,
        error_permille_critical: c.error_permille_critical,
        p95_degraded: Duration::from_micros(c.p95_degraded_us),
        p95_critical: Duration::from_micros(c.p95_critical_us),
        dead_letters_degraded: c.dead_letters_degraded,
        dead_letters_critical: c.dead_letters_critical,
        file_size_limit: (c.file_size_limit != 0).then_some(c.file_size_limit),
        disk_free_degraded: c.disk_free_degraded,
        disk_free_critical: c.disk_free_critical,
        backups_expected: c.backups_expected,
    };
    t.validate()?;
    Ok(t)
}

/// Writes the default thresholds to `*out_thresholds`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_health_thresholds_default(
    out_thresholds: *mut hardstore_health_thresholds,
) -> hardstore_result {
    guard(|| {
        *out(out_thresholds, "out_thresholds")? = thresholds_to_c(&HealthThresholds::default());
        Ok(())
    })
}

/// For a new store: its health thresholds (an existing store keeps its own). Checked now.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_health_thresholds(
    options: *mut hardstore_options,
    thresholds: *const hardstore_health_thresholds,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        let t = thresholds_from_c(arg(thresholds, "thresholds")?)?;
        o.inner = o.inner.clone().health_thresholds(t);
        Ok(())
    })
}

/// Writes the store's health thresholds to `*out_thresholds`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_get_health_thresholds(
    store: *const hardstore_store,
    out_thresholds: *mut hardstore_health_thresholds,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_thresholds, "out_thresholds")?;
        *o = thresholds_to_c(&s.store.settings().get().health);
        Ok(())
    })
}

/// Sets the store's health thresholds in an audited write by `actor`. Thresholds that
/// grade nothing sensibly (critical before degraded, a zero window) are
/// `HARDSTORE_INVALID_ARGUMENT` and change nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_health_thresholds(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    thresholds: *const hardstore_health_thresholds,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| -> FfiResult {
        let t = thresholds_from_c(arg(thresholds, "thresholds")?)?;
        change(store, actor, actor_len, out_change, |s| {
            s.set_health_thresholds(t)
        })
    })
}

/// Runs the health checks into a new `*out_report` (owned by the caller; free with
/// `hardstore_health_report_free`). `deep` adds the integrity check (reads the whole
/// store); `raise_alerts` raises or resolves each component's alert when its grade
/// changed. Without `raise_alerts` nothing is written. The report holds 8 components (9
/// with `deep`), plus one named `alerts`, critical, when `raise_alerts` could not write
/// its alerts: read the count from the summary.
#[no_mangle]
pub unsafe extern "C" fn hardstore_store_health(
    store: *const hardstore_store,
    deep: bool,
    raise_alerts: bool,
    out_report: *mut *mut hardstore_health_report,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_report, "out_report")?;
        let opts = HealthOptions::new().deep(deep).raise_alerts(raise_alerts);
        let inner = s.store.health_with(opts)?;
        *o = Box::into_raw(Box::new(hardstore_health_report { inner }));
        Ok(())
    })
}

/// Writes the report's totals to `*out_summary`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_health_report_summary(
    report: *const hardstore_health_report,
    out_summary: *mut hardstore_health_summary,
) -> hardstore_result {
    guard(|| {
        let r = &arg(report, "report")?.inner;
        let o = out(out_summary, "out_summary")?;
        *o = hardstore_health_summary {
            grade: grade_code(r.grade),
            uptime_us: us(r.uptime),
            checked_at: r.checked_at,
            components: r.components.len(),
            alerts_raised: r.alerts_raised,
            alerts_resolved: r.alerts_resolved,
        };
        Ok(())
    })
}

/// Writes component `index` (0-based, below the summary's `components`) to
/// `*out_component`; an index past the end is `HARDSTORE_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_health_report_component(
    report: *const hardstore_health_report,
    index: usize,
    out_component: *mut hardstore_health_component,
) -> hardstore_result {
    guard(|| {
        let r = &arg(report, "report")?.inner;
        let o = out(out_component, "out_component")?;
        let c = r.components.get(index).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "component {index} of a report of {}",
                r.components.len()
            ))
        })?;
        *o = hardstore_health_component {
            name: c.name.as_ptr(),
            name_len: c.name.len(),
            status: grade_code(c.status),
            reason: c.reason.as_ptr(),
            reason_len: c.reason.len(),
            has_value: c.value.is_some(),
            value: c.value.unwrap_or(0.0),
            unit: c.unit.as_ptr(),
            unit_len: c.unit.len(),
        };
        Ok(())
    })
}

/// Frees a report (and the strings its components borrowed). NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_health_report_free(report: *mut hardstore_health_report) {
    free_box(report);
}
