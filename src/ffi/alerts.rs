//! The C ABI for alerts: raise, acknowledge, resolve (by id or dedup key), get, list
//! through an iterator, counts and purge with confirmation.
//!
//! Times are microseconds since the epoch from the store's clock; durations are
//! microseconds too.

use std::time::Duration;

use super::bytes::{give_bytes, hardstore_bytes};
use super::store::{durability_arg, hardstore_store};
use super::{arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::alerts::{
    limits, Alert, AlertCursor, AlertQuery, AlertScope, AlertState, NewAlert, Severity,
};
use crate::error::Error;

/// Alert severity: worth knowing.
pub const HARDSTORE_ALERT_INFO: u32 = 0;
/// Alert severity: degraded, act soon.
pub const HARDSTORE_ALERT_WARNING: u32 = 1;
/// Alert severity: broken, act now.
pub const HARDSTORE_ALERT_CRITICAL: u32 = 2;

/// Alert state: raised, not acknowledged.
pub const HARDSTORE_ALERT_OPEN: u32 = 0;
/// Alert state: acknowledged, not resolved.
pub const HARDSTORE_ALERT_ACKNOWLEDGED: u32 = 1;
/// Alert state: resolved.
pub const HARDSTORE_ALERT_RESOLVED: u32 = 2;

/// `hardstore_alert_list` scope: alerts not resolved.
pub const HARDSTORE_ALERT_SCOPE_OPEN: u32 = 0;
/// `hardstore_alert_list` scope: resolved alerts.
pub const HARDSTORE_ALERT_SCOPE_RESOLVED: u32 = 1;
/// `hardstore_alert_list` scope: every alert (the history).
pub const HARDSTORE_ALERT_SCOPE_ALL: u32 = 2;

/// String fields for `hardstore_alert_field`: the tenant.
pub const HARDSTORE_ALERT_TENANT: u32 = 0;
/// The source that raised it.
pub const HARDSTORE_ALERT_SOURCE: u32 = 1;
/// The dedup key.
pub const HARDSTORE_ALERT_DEDUP_KEY: u32 = 2;
/// The latest raise's message.
pub const HARDSTORE_ALERT_MESSAGE: u32 = 3;
/// Who acknowledged it (empty: nobody).
pub const HARDSTORE_ALERT_ACKNOWLEDGED_BY: u32 = 4;
/// Who resolved it (empty: nobody).
pub const HARDSTORE_ALERT_RESOLVED_BY: u32 = 5;
/// The resolution note.
pub const HARDSTORE_ALERT_RESOLUTION: u32 = 6;

/// Longest alert tenant and source, in bytes.
pub const HARDSTORE_LIMIT_ALERT_TENANT: usize = 128;
/// Longest alert dedup key, in bytes.
pub const HARDSTORE_LIMIT_ALERT_DEDUP_KEY: usize = 256;
/// Longest alert message and resolution note, in bytes.
pub const HARDSTORE_LIMIT_ALERT_MESSAGE: usize = 4096;
/// Longest "by" (who acknowledged or resolved), in bytes.
pub const HARDSTORE_LIMIT_ALERT_BY: usize = 256;

const _: () = assert!(HARDSTORE_LIMIT_ALERT_TENANT == limits::TENANT);
const _: () = assert!(HARDSTORE_LIMIT_ALERT_TENANT == limits::SOURCE);
const _: () = assert!(HARDSTORE_LIMIT_ALERT_DEDUP_KEY == limits::DEDUP_KEY);
const _: () = assert!(HARDSTORE_LIMIT_ALERT_MESSAGE == limits::MESSAGE);
const _: () = assert!(HARDSTORE_LIMIT_ALERT_MESSAGE == limits::RESOLUTION);
const _: () = assert!(HARDSTORE_LIMIT_ALERT_BY == limits::BY);

/// What `hardstore_alert_raise` did.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_alert_raised {
    /// The alert's id.
    pub id: u64,
    /// Raises counted on it, this one included.
    pub count: u64,
    /// Whether this raise opened it (false: it repeated one not resolved).
    pub created: bool,
    /// `HARDSTORE_ALERT_OPEN` or `_ACKNOWLEDGED`.
    pub state: u32,
}

/// The numeric fields of an alert, from `hardstore_alert_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_alert_info {
    /// Its id.
    pub id: u64,
    /// `HARDSTORE_ALERT_INFO`, `_WARNING` or `_CRITICAL` (the latest raise's).
    pub severity: u32,
    /// `HARDSTORE_ALERT_OPEN`, `_ACKNOWLEDGED` or `_RESOLVED`.
    pub state: u32,
    /// Raises counted on it.
    pub count: u64,
    /// When it was opened.
    pub first_seen: u64,
    /// When it was last raised.
    pub last_seen: u64,
    /// When it was acknowledged; 0 if it was not.
    pub acknowledged_at: u64,
    /// When it was resolved; 0 if it is not.
    pub resolved_at: u64,
}

/// An alert: owned (from `hardstore_alert_get`, free with `hardstore_alert_free`) or
/// borrowed from a `hardstore_alert_iter`.
pub struct hardstore_alert {
    inner: Alert,
}

/// One page of a list. Free with `hardstore_alert_iter_free`.
pub struct hardstore_alert_iter {
    alerts: Vec<hardstore_alert>,
    pos: usize,
    next: Option<AlertCursor>,
}

fn severity_arg(s: u32) -> FfiResult<Severity> {
    u8::try_from(s)
        .ok()
        .and_then(Severity::from_u8)
        .ok_or_else(|| Error::InvalidArgument(format!("severity {s} is not 0..=2")).into())
}

fn state_code(s: AlertState) -> u32 {
    s as u32
}

/// Raises an alert (see the README: a raise while one is not resolved under the same
/// tenant and dedup key counts on it) and writes what it did to `*out_raised`.
/// `tenant`, `source` 1..=128 bytes, `dedup_key` 1..=256, `message` at most 4096, all
/// UTF-8. `severity` is `HARDSTORE_ALERT_*`; `durability` `HARDSTORE_DURABLE` or
/// `HARDSTORE_BUFFERED`. The change is audited in the same transaction.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_raise(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    source: *const u8,
    source_len: usize,
    dedup_key: *const u8,
    dedup_key_len: usize,
    severity: u32,
    message: *const u8,
    message_len: usize,
    durability: u32,
    out_raised: *mut hardstore_alert_raised,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let new = NewAlert::new(
            str_arg(tenant, tenant_len, "tenant", limits::TENANT)?,
            str_arg(source, source_len, "source", limits::SOURCE)?,
            str_arg(dedup_key, dedup_key_len, "dedup_key", limits::DEDUP_KEY)?,
            severity_arg(severity)?,
            str_arg(message, message_len, "message", limits::MESSAGE)?,
        );
        let d = durability_arg(durability)?;
        let o = out(out_raised, "out_raised")?;
        let r = s.store.alerts().raise(new, d)?;
        *o = hardstore_alert_raised {
            id: r.id,
            count: r.count,
            created: r.created,
            state: state_code(r.state),
        };
        Ok(())
    })
}

/// Acknowledges alert `id` on behalf of `by` (at most 256 bytes), durably. An
/// acknowledged alert stays as it was; a resolved one is `HARDSTORE_INVALID_ARGUMENT`;
/// an unknown id `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_acknowledge(
    store: *const hardstore_store,
    id: u64,
    by: *const u8,
    by_len: usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let by = str_arg(by, by_len, "by", limits::BY)?;
        s.store.alerts().acknowledge(id, by)?;
        Ok(())
    })
}

/// Resolves alert `id` on behalf of `by` (at most 256 bytes) with a `resolution` note
/// (at most 4096), durably. A resolved alert stays as it was.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_resolve(
    store: *const hardstore_store,
    id: u64,
    by: *const u8,
    by_len: usize,
    resolution: *const u8,
    resolution_len: usize,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let by = str_arg(by, by_len, "by", limits::BY)?;
        let note = str_arg(resolution, resolution_len, "resolution", limits::RESOLUTION)?;
        s.store.alerts().resolve(id, by, note)?;
        Ok(())
    })
}

/// Resolves the alert not resolved under (`tenant`, `dedup_key`), if there is one.
/// Writes its id to `*out_id` and true to `*out_resolved`, or 0 and false when there was
/// none.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_resolve_key(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    dedup_key: *const u8,
    dedup_key_len: usize,
    by: *const u8,
    by_len: usize,
    resolution: *const u8,
    resolution_len: usize,
    out_resolved: *mut bool,
    out_id: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let tenant = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        let key = str_arg(dedup_key, dedup_key_len, "dedup_key", limits::DEDUP_KEY)?;
        let by = str_arg(by, by_len, "by", limits::BY)?;
        let note = str_arg(resolution, resolution_len, "resolution", limits::RESOLUTION)?;
        let (or, oi) = (out(out_resolved, "out_resolved")?, out(out_id, "out_id")?);
        let got = s.store.alerts().resolve_key(tenant, key, by, note)?;
        *or = got.is_some();
        *oi = got.map_or(0, |a| a.id);
        Ok(())
    })
}

/// Writes alert `id` to a new `*out_alert`, owned by the caller (free with
/// `hardstore_alert_free`). An unknown or purged id is `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_get(
    store: *const hardstore_store,
    id: u64,
    out_alert: *mut *mut hardstore_alert,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_alert, "out_alert")?;
        let inner = s.store.alerts().get(id)?;
        *o = Box::into_raw(Box::new(hardstore_alert { inner }));
        Ok(())
    })
}

/// Frees an alert from `hardstore_alert_get`. NULL is allowed. (Alerts borrowed from an
/// iterator are freed with it.)
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_free(alert: *mut hardstore_alert) {
    free_box(alert);
}

/// Writes the alert's numeric fields to `*out_info`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_get_info(
    alert: *const hardstore_alert,
    out_info: *mut hardstore_alert_info,
) -> hardstore_result {
    guard(|| {
        let a = &arg(alert, "alert")?.inner;
        let o = out(out_info, "out_info")?;
        *o = hardstore_alert_info {
            id: a.id,
            severity: a.severity as u32,
            state: state_code(a.state),
            count: a.count,
            first_seen: a.first_seen,
            last_seen: a.last_seen,
            acknowledged_at: a.acknowledged_at.unwrap_or(0),
            resolved_at: a.resolved_at.unwrap_or(0),
        };
        Ok(())
    })
}

/// Points the out-parameters at string field `HARDSTORE_ALERT_TENANT` .. `_RESOLUTION`
/// (UTF-8, not NUL-terminated), valid as long as the alert.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_field(
    alert: *const hardstore_alert,
    field: u32,
    out_ptr: *mut *const u8,
    out_len: *mut usize,
) -> hardstore_result {
    guard(|| {
        let a = &arg(alert, "alert")?.inner;
        let (p, l) = (out(out_ptr, "out_ptr")?, out(out_len, "out_len")?);
        let v: &str = match field {
            HARDSTORE_ALERT_TENANT => &a.tenant,
            HARDSTORE_ALERT_SOURCE => &a.source,
            HARDSTORE_ALERT_DEDUP_KEY => &a.dedup_key,
            HARDSTORE_ALERT_MESSAGE => &a.message,
            HARDSTORE_ALERT_ACKNOWLEDGED_BY => &a.acknowledged_by,
            HARDSTORE_ALERT_RESOLVED_BY => &a.resolved_by,
            HARDSTORE_ALERT_RESOLUTION => &a.resolution,
            other => {
                return Err(Error::InvalidArgument(format!("unknown alert field {other}")).into())
            }
        };
        *p = v.as_ptr();
        *l = v.len();
        Ok(())
    })
}

/// Lists one page of alerts, newest first, into a new `*out_iter` (owned by the caller).
/// `scope` is `HARDSTORE_ALERT_SCOPE_*`; `tenant` and `source` filter when not empty;
/// only alerts of at least `min_severity` are listed; `limit` is 1..=10000; `cursor`
/// (from `hardstore_alert_iter_cursor`, empty for the first page) continues a walk.
/// Only reads.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_list(
    store: *const hardstore_store,
    scope: u32,
    tenant: *const u8,
    tenant_len: usize,
    source: *const u8,
    source_len: usize,
    min_severity: u32,
    limit: usize,
    cursor: *const u8,
    cursor_len: usize,
    out_iter: *mut *mut hardstore_alert_iter,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let scope = match scope {
            HARDSTORE_ALERT_SCOPE_OPEN => AlertScope::Open,
            HARDSTORE_ALERT_SCOPE_RESOLVED => AlertScope::Resolved,
            HARDSTORE_ALERT_SCOPE_ALL => AlertScope::All,
            other => {
                return Err(Error::InvalidArgument(format!("scope {other} is not 0..=2")).into())
            }
        };
        let mut q = AlertQuery::new(scope)
            .min_severity(severity_arg(min_severity)?)
            .limit(limit);
        let tenant = str_arg(tenant, tenant_len, "tenant", limits::TENANT)?;
        if !tenant.is_empty() {
            q = q.tenant(tenant);
        }
        let source = str_arg(source, source_len, "source", limits::SOURCE)?;
        if !source.is_empty() {
            q = q.source(source);
        }
        let cursor = bytes_arg(cursor, cursor_len, "cursor")?;
        if !cursor.is_empty() {
            q = q.after(AlertCursor::from_bytes(cursor)?);
        }
        let o = out(out_iter, "out_iter")?;
        let page = s.store.alerts().list(&q)?;
        *o = Box::into_raw(Box::new(hardstore_alert_iter {
            alerts: page
                .alerts
                .into_iter()
                .map(|inner| hardstore_alert { inner })
                .collect(),
            pos: 0,
            next: page.next,
        }));
        Ok(())
    })
}

/// Writes the next alert to `*out_alert`, or NULL at the end of the page. The alert is
/// borrowed from the iterator (do not free it).
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_iter_next(
    iter: *mut hardstore_alert_iter,
    out_alert: *mut *const hardstore_alert,
) -> hardstore_result {
    guard(|| {
        let it = arg_mut(iter, "iter")?;
        let o = out(out_alert, "out_alert")?;
        *o = match it.alerts.get(it.pos) {
            Some(a) => {
                it.pos += 1;
                a as *const hardstore_alert
            }
            None => std::ptr::null(),
        };
        Ok(())
    })
}

/// Writes the next page's cursor to a new `*out_cursor` (owned by the caller), or NULL
/// when nothing more matches.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_iter_cursor(
    iter: *const hardstore_alert_iter,
    out_cursor: *mut *mut hardstore_bytes,
) -> hardstore_result {
    guard(|| {
        let it = arg(iter, "iter")?;
        let o = out(out_cursor, "out_cursor")?;
        match &it.next {
            Some(c) => give_bytes(c.to_bytes(), o),
            None => *o = std::ptr::null_mut(),
        }
        Ok(())
    })
}

/// Frees an iterator and the alerts borrowed from it. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_iter_free(iter: *mut hardstore_alert_iter) {
    free_box(iter);
}

/// Writes how many alerts are not resolved and how many resolved ones are kept.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_counts(
    store: *const hardstore_store,
    out_unresolved: *mut u64,
    out_resolved: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (ou, or) = (
            out(out_unresolved, "out_unresolved")?,
            out(out_resolved, "out_resolved")?,
        );
        let c = s.store.alerts().counts()?;
        *ou = c.unresolved;
        *or = c.resolved;
        Ok(())
    })
}

/// Writes how many alerts resolved at least `older_than_us` ago a purge would delete
/// now. Changes nothing.
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_purgeable(
    store: *const hardstore_store,
    older_than_us: u64,
    out_n: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_n, "out_n")?;
        *o = s
            .store
            .alerts()
            .purgeable(Duration::from_micros(older_than_us))?;
        Ok(())
    })
}

/// Deletes alerts resolved at least `older_than_us` ago, durably, and writes how many to
/// `*out_deleted`. When that would be more than `confirm`, nothing is deleted and the
/// result is `HARDSTORE_CONFIRMATION_REQUIRED` (the message names the count; get it
/// first with `hardstore_alert_purgeable`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_alert_purge_resolved(
    store: *const hardstore_store,
    older_than_us: u64,
    confirm: u64,
    out_deleted: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_deleted, "out_deleted")?;
        *o = s
            .store
            .alerts()
            .purge_resolved(Duration::from_micros(older_than_us), confirm)?;
        Ok(())
    })
}
