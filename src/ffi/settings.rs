//! The C ABI for the store's own settings (`Store::settings`).

use std::time::Duration;

use super::backup::{
    hardstore_retention, hardstore_schedule, retention, retention_to_c, schedule, schedule_to_c,
};
use super::dead_letters::{hardstore_retry_policy, policy_from_c, policy_to_c};
use super::store::hardstore_store;
use super::{arg, guard, hardstore_result, out, str_arg, FfiResult};
use crate::settings::{SettingChange, Settings, StoreSettings};

/// Longest actor a settings change records in its audit entry, in bytes.
pub const HARDSTORE_MAX_SETTINGS_ACTOR: usize = 256;

/// A store's settings: the values that shape what it keeps. Written into the store
/// when it is created (from the options); opening with other options never changes
/// them. Change one with a `hardstore_settings_set_*` call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_settings {
    /// How many log entries the ring keeps.
    pub log_capacity: u64,
    /// How long an idempotency key lives from its creation, microseconds.
    pub idempotency_ttl_us: u64,
    /// How failed dead letters are rescheduled.
    pub dead_letter_policy: hardstore_retry_policy,
    /// How long Done and Dead dead letters are kept before a purge, microseconds.
    pub dead_letter_purge_after_us: u64,
    /// The most restore points that may exist at once.
    pub max_restore_points: u64,
    /// What a backup prune by the store's settings keeps.
    pub backup_retention: hardstore_retention,
    /// When backups are due.
    pub backup_schedule: hardstore_schedule,
}

/// What a settings change did.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hardstore_setting_change {
    /// The seq of the audit entry that records the change.
    pub audit_seq: u64,
    /// Entries the change deleted (log entries a smaller ring evicted).
    pub deleted: u64,
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn to_c(s: &Settings) -> hardstore_settings {
    hardstore_settings {
        log_capacity: s.log_capacity,
        idempotency_ttl_us: us(s.idempotency_ttl),
        dead_letter_policy: policy_to_c(&s.dead_letter_policy),
        dead_letter_purge_after_us: us(s.dead_letter_purge_after),
        max_restore_points: s.max_restore_points as u64,
        backup_retention: retention_to_c(&s.backup_retention),
        backup_schedule: schedule_to_c(&s.backup_schedule),
    }
}

/// Runs one change with the settings handle of `store`, as `actor`, and writes what it
/// did to `*out_change`.
pub(crate) unsafe fn change(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    out_change: *mut hardstore_setting_change,
    f: impl FnOnce(&StoreSettings<'_>) -> crate::Result<SettingChange>,
) -> FfiResult {
    let s = arg(store, "store")?;
    let actor = str_arg(actor, actor_len, "actor", HARDSTORE_MAX_SETTINGS_ACTOR)?;
    let o = out(out_change, "out_change")?;
    let c = f(&s.store.settings().by(actor))?;
    *o = hardstore_setting_change {
        audit_seq: c.audit_seq,
        deleted: c.deleted,
    };
    Ok(())
}

/// Writes the store's current settings to `*out_settings`.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_get(
    store: *const hardstore_store,
    out_settings: *mut hardstore_settings,
) -> hardstore_result {
    guard(|| {
        let s = arg(store, "store")?;
        let o = out(out_settings, "out_settings")?;
        *o = to_c(&s.store.settings().get());
        Ok(())
    })
}

/// Sets the ring's capacity (at least 1). A capacity below the entries the ring holds
/// evicts the oldest surplus; unless `confirm_evict` is at least that count the call is
/// `HARDSTORE_CONFIRMATION_REQUIRED` (the message names the count) and changes nothing.
/// `actor` (0..=256 bytes) is recorded in the change's audit entry.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_log_capacity(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    capacity: u64,
    confirm_evict: u64,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| {
        change(store, actor, actor_len, out_change, |s| {
            s.set_log_capacity(capacity, confirm_evict)
        })
    })
}

/// Sets how long idempotency keys begun from now on live, microseconds (above 0).
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_idempotency_ttl_us(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    ttl_us: u64,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| {
        change(store, actor, actor_len, out_change, |s| {
            s.set_idempotency_ttl(Duration::from_micros(ttl_us))
        })
    })
}

/// Sets how failed dead letters are rescheduled from now on. `policy` is only read.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_dead_letter_policy(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    policy: *const hardstore_retry_policy,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| -> FfiResult {
        let p = policy_from_c(arg(policy, "policy")?)?;
        change(store, actor, actor_len, out_change, |s| {
            s.set_dead_letter_policy(p)
        })
    })
}

/// Sets how long Done and Dead dead letters are kept before a purge, microseconds.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_dead_letter_purge_after_us(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    age_us: u64,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| {
        change(store, actor, actor_len, out_change, |s| {
            s.set_dead_letter_purge_after(Duration::from_micros(age_us))
        })
    })
}

/// Sets the most restore points that may exist at once (1..=HARDSTORE_MAX_RESTORE_POINTS). A cap below the
/// points that exist is `HARDSTORE_INVALID_ARGUMENT`: delete points first.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_max_restore_points(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    max_points: u64,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| {
        change(store, actor, actor_len, out_change, |s| {
            s.set_max_restore_points(usize::try_from(max_points).unwrap_or(usize::MAX))
        })
    })
}

/// Sets what a backup prune by the store's settings keeps. `policy` is only read.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_backup_retention(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    policy: *const hardstore_retention,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| -> FfiResult {
        let r = retention(arg(policy, "policy")?);
        change(store, actor, actor_len, out_change, |s| {
            s.set_backup_retention(r)
        })
    })
}

/// Sets when backups are due. `sched` is only read; its intervals must be above zero.
#[no_mangle]
pub unsafe extern "C" fn hardstore_settings_set_backup_schedule(
    store: *const hardstore_store,
    actor: *const u8,
    actor_len: usize,
    sched: *const hardstore_schedule,
    out_change: *mut hardstore_setting_change,
) -> hardstore_result {
    guard(|| -> FfiResult {
        let sch = schedule(Some(arg(sched, "sched")?))?;
        change(store, actor, actor_len, out_change, |s| {
            s.set_backup_schedule(sch)
        })
    })
}
