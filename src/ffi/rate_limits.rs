//! The C ABI for rate limits: define, remove, get and list limits; checks by name or
//! through a `hardstore_limiter` handle (no lookup by name); stats and flush.
//!
//! Durations are microseconds.

use std::time::Duration;

use super::store::{hardstore_options, hardstore_store};
use super::{arg, arg_mut, bytes_arg, free_box, guard, hardstore_result, out, str_arg, FfiResult};
use crate::error::Error;
use crate::rate_limits::{limits, Limit, Limiter, RateDecision, RateLimitInfo};

/// Longest rate-limit tenant and name, in bytes.
pub const HARDSTORE_LIMIT_RATE_LIMIT_NAME: usize = 128;
/// Longest rate-limit key, in bytes.
pub const HARDSTORE_LIMIT_RATE_LIMIT_KEY: usize = 256;
/// `retry_after_us` of a denial whose cost exceeds the burst: it never conforms.
pub const HARDSTORE_RETRY_NEVER: u64 = u64::MAX;

const _: () = assert!(HARDSTORE_LIMIT_RATE_LIMIT_NAME == limits::NAME);
const _: () = assert!(HARDSTORE_LIMIT_RATE_LIMIT_KEY == limits::KEY);

/// A limit: `count` per `period_us`, at most `burst` at once.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_rate_limit {
    /// Requests (units of cost) per period, at least 1.
    pub count: u64,
    /// The period in microseconds, 1 ..= 366 days.
    pub period_us: u64,
    /// The most cost allowed at once, at least 1.
    pub burst: u64,
}

/// A check's answer (redis-cell's).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_rate_decision {
    /// Whether the request conforms; a denied one consumed nothing.
    pub allowed: bool,
    /// The limit's burst.
    pub limit: u64,
    /// Cost still allowed right now.
    pub remaining: u64,
    /// Denied: microseconds until the same cost would be allowed
    /// (`HARDSTORE_RETRY_NEVER`: it exceeds the burst). Allowed: 0.
    pub retry_after_us: u64,
    /// Microseconds until the key's allowance is full again.
    pub reset_after_us: u64,
}

/// One limit's keys in memory.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_rate_limit_keys {
    /// Keys held.
    pub keys: u64,
    /// Idle keys removed to make room (nothing lost).
    pub evicted_idle: u64,
    /// Keys in use evicted because every key was in use.
    pub evicted_active: u64,
}

/// A handle on one limit (from `hardstore_limiter_new`, free with
/// `hardstore_limiter_free`). It may outlive its store: checks then change memory only.
pub struct hardstore_limiter {
    inner: Limiter,
}

/// Every defined limit (from `hardstore_rate_limit_list`, free with
/// `hardstore_rate_limit_list_free`).
pub struct hardstore_rate_limits {
    items: Vec<RateLimitInfo>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn decision_out(d: RateDecision) -> hardstore_rate_decision {
    hardstore_rate_decision {
        allowed: d.allowed,
        limit: d.limit,
        remaining: d.remaining,
        retry_after_us: match (d.allowed, d.retry_after) {
            (true, _) => 0,
            (false, Some(r)) => micros(r).max(1),
            (false, None) => HARDSTORE_RETRY_NEVER,
        },
        reset_after_us: micros(d.reset_after),
    }
}

fn limit_out(l: Limit) -> hardstore_rate_limit {
    hardstore_rate_limit {
        count: l.count,
        period_us: micros(l.period),
        burst: l.burst,
    }
}

unsafe fn names<'a>(
    tenant: *const u8,
    tenant_len: usize,
    name: *const u8,
    name_len: usize,
) -> FfiResult<(&'a str, &'a str)> {
    Ok((
        str_arg(tenant, tenant_len, "tenant", limits::NAME)?,
        str_arg(name, name_len, "name", limits::NAME)?,
    ))
}

/// Each rate limit keeps at most `max_keys` keys in memory (above 0; default 1,000,000),
/// and keys changed by checks are written to the store every `flush_us` microseconds
/// (above 0; default 1 s): a crash forgets at most that much consumption.
#[no_mangle]
pub unsafe extern "C" fn hardstore_options_set_rate_limits(
    options: *mut hardstore_options,
    max_keys: u64,
    flush_us: u64,
) -> hardstore_result {
    guard(|| {
        let o = arg_mut(options, "options")?;
        if max_keys == 0 || flush_us == 0 {
            return Err(Error::InvalidArgument(
                "the rate-limit key cap and flush interval must be above zero".into(),
            )
            .into());
        }
        let max = usize::try_from(max_keys).unwrap_or(usize::MAX);
        o.inner = o
            .inner
            .clone()
            .rate_limit_max_keys(max)
            .rate_limit_flush(Duration::from_micros(flush_us));
        Ok(())
    })
}

/// Defines (or redefines, keeping every key's state) the limit `name` of `tenant` (each
/// 1..=128 bytes of UTF-8, no NUL), durably, with an audit entry.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_define(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    name: *const u8,
    name_len: usize,
    limit: *const hardstore_rate_limit,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (t, n) = names(tenant, tenant_len, name, name_len)?;
        let l = arg(limit, "limit")?;
        let lim = Limit {
            count: l.count,
            period: Duration::from_micros(l.period_us),
            burst: l.burst,
        };
        s.store.rate_limits().define(t, n, lim)?;
        Ok(())
    })
}

/// Removes the limit `name` of `tenant` and its keys, durably, with an audit entry;
/// writes how many stored keys it deleted to `*out_deleted`. No such limit:
/// `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_remove(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    name: *const u8,
    name_len: usize,
    out_deleted: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (t, n) = names(tenant, tenant_len, name, name_len)?;
        let o = out(out_deleted, "out_deleted")?;
        *o = s.store.rate_limits().remove(t, n)?;
        Ok(())
    })
}

/// Writes the limit `name` of `tenant` to `*out_limit` and true to `*out_found`, or
/// false when it is not defined.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_get(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    name: *const u8,
    name_len: usize,
    out_found: *mut bool,
    out_limit: *mut hardstore_rate_limit,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (t, n) = names(tenant, tenant_len, name, name_len)?;
        let (of, ol) = (out(out_found, "out_found")?, out(out_limit, "out_limit")?);
        let got = s.store.rate_limits().get(t, n)?;
        *of = got.is_some();
        if let Some(l) = got {
            *ol = limit_out(l);
        }
        Ok(())
    })
}

/// Checks a request of `cost` (usually 1; 0 only reads) for `key` (1..=256 bytes) under
/// the limit `name` of `tenant`, now; writes the answer to `*out_decision`. An allowed
/// request consumes its cost. No such limit: `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_check(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    name: *const u8,
    name_len: usize,
    key: *const u8,
    key_len: usize,
    cost: u64,
    out_decision: *mut hardstore_rate_decision,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (t, n) = names(tenant, tenant_len, name, name_len)?;
        let k = bytes_arg(key, key_len, "key")?;
        let o = out(out_decision, "out_decision")?;
        *o = decision_out(s.store.rate_limits().check(t, n, k, cost)?);
        Ok(())
    })
}

/// Writes a new handle on the limit `name` of `tenant` to `*out_limiter`, owned by the
/// caller (free with `hardstore_limiter_free`). No such limit: `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_limiter_new(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    name: *const u8,
    name_len: usize,
    out_limiter: *mut *mut hardstore_limiter,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (t, n) = names(tenant, tenant_len, name, name_len)?;
        let o = out(out_limiter, "out_limiter")?;
        let inner = s.store.rate_limits().limiter(t, n)?;
        *o = Box::into_raw(Box::new(hardstore_limiter { inner }));
        Ok(())
    })
}

/// `hardstore_rate_limit_check` through a handle. Safe from many threads at once. After
/// the limit is removed: `HARDSTORE_NOT_FOUND`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_limiter_check(
    limiter: *const hardstore_limiter,
    key: *const u8,
    key_len: usize,
    cost: u64,
    out_decision: *mut hardstore_rate_decision,
) -> hardstore_result {
    guard(|| {
        let l = arg(limiter, "limiter")?;
        let k = bytes_arg(key, key_len, "key")?;
        let o = out(out_decision, "out_decision")?;
        *o = decision_out(l.inner.check(k, cost)?);
        Ok(())
    })
}

/// Frees a limiter. NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_limiter_free(limiter: *mut hardstore_limiter) {
    free_box(limiter);
}

/// Writes the keys the limit `name` of `tenant` holds in memory, and what eviction did,
/// to `*out_stats`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_stats(
    store: *const hardstore_store,
    tenant: *const u8,
    tenant_len: usize,
    name: *const u8,
    name_len: usize,
    out_stats: *mut hardstore_rate_limit_keys,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let (t, n) = names(tenant, tenant_len, name, name_len)?;
        let o = out(out_stats, "out_stats")?;
        let st = s.store.rate_limits().stats(t, n)?;
        *o = hardstore_rate_limit_keys {
            keys: st.keys,
            evicted_idle: st.evicted_idle,
            evicted_active: st.evicted_active,
        };
        Ok(())
    })
}

/// Writes every key changed since the last flush now, durably; writes the rows written
/// or deleted to `*out_rows`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_flush(
    store: *const hardstore_store,
    out_rows: *mut u64,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_rows, "out_rows")?;
        *o = s.store.rate_limits().flush()?;
        Ok(())
    })
}

/// Writes every defined limit, in (tenant, name) order, to a new `*out_list` owned by
/// the caller (free with `hardstore_rate_limit_list_free`).
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_list(
    store: *const hardstore_store,
    out_list: *mut *mut hardstore_rate_limits,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_list, "out_list")?;
        let items = s.store.rate_limits().list()?;
        *o = Box::into_raw(Box::new(hardstore_rate_limits { items }));
        Ok(())
    })
}

/// How many limits a list holds; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_list_len(
    list: *const hardstore_rate_limits,
) -> usize {
    list.as_ref().map_or(0, |l| l.items.len())
}

/// Writes limit `index` of a list: its tenant and name (borrowed from the list, not
/// NUL-terminated) and what it allows. An index past the end is
/// `HARDSTORE_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_list_get(
    list: *const hardstore_rate_limits,
    index: usize,
    out_tenant: *mut *const u8,
    out_tenant_len: *mut usize,
    out_name: *mut *const u8,
    out_name_len: *mut usize,
    out_limit: *mut hardstore_rate_limit,
) -> hardstore_result {
    guard(|| {
        let l = arg(list, "list")?;
        let (ot, otl) = (
            out(out_tenant, "out_tenant")?,
            out(out_tenant_len, "out_tenant_len")?,
        );
        let (on, onl) = (
            out(out_name, "out_name")?,
            out(out_name_len, "out_name_len")?,
        );
        let ol = out(out_limit, "out_limit")?;
        let i = l.items.get(index).ok_or_else(|| {
            Error::InvalidArgument(format!("limit {index} of a list of {}", l.items.len()))
        })?;
        (*ot, *otl) = (i.tenant.as_ptr(), i.tenant.len());
        (*on, *onl) = (i.name.as_ptr(), i.name.len());
        *ol = limit_out(i.limit);
        Ok(())
    })
}

/// Frees a list (and the strings it lent). NULL is allowed.
#[no_mangle]
pub unsafe extern "C" fn hardstore_rate_limit_list_free(list: *mut hardstore_rate_limits) {
    free_box(list);
}
