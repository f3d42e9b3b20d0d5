//! Settings that shape stored data, kept in the store itself.
//!
//! A store's ring capacity, idempotency TTL, dead-letter retry policy and retention,
//! restore-point cap and backup retention and schedule are written into the store when
//! it is created (seeded from [`Options`](crate::Options)) and read back at every open.
//! Opening with other `Options` never changes them: an operator tool that opens the
//! store with defaults sees, and keeps, the app's own values. Changing one is an
//! explicit, audited call ([`StoreSettings`]); one that would delete stored entries says
//! how many and is refused unless the caller confirms that count.
//!
//! Invariants:
//! - `hardstore.settings` holds one row per setting, each a versioned record
//!   (`codec`). A row this build does not know is kept untouched.
//! - A setting missing from the file (a store written by an earlier build) is written at
//!   open from the seed, which the areas may raise so that nothing stored is lost
//!   (`Area::seed_settings`: the ring capacity never below the entries it holds).
//! - The in-memory copy (`Inner::settings`) changes only after the commit that wrote
//!   the row, and the writer's state (ring capacity, retry policy) in the same batch.

use std::time::Duration;

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::engine::catalog::{Flags, Table};
use crate::engine::values::{HealthThresholds, Retention, Schedule};
use crate::engine::values::{Jitter, RetryPolicy};
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;

/// Setting name -> its record. Owned by this module.
pub(crate) const SETTINGS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("hardstore.settings");

/// The settings table in the catalog: backed up and exported (a store restored from a
/// backup keeps its settings), never rolled back by a restore point.
pub(crate) static TABLE: Table<&str, &[u8]> = Table::new(20, SETTINGS, Flags::KEPT);

const LOG_CAPACITY: &str = "log_capacity";
const IDEM_TTL: &str = "idempotency_ttl";
const DLQ_POLICY: &str = "dead_letter_policy";
const DLQ_PURGE_AFTER: &str = "dead_letter_purge_after";
const MAX_POINTS: &str = "max_restore_points";
const BACKUP_RETENTION: &str = "backup_retention";
const BACKUP_SCHEDULE: &str = "backup_schedule";
const HEALTH: &str = "health_thresholds";
const ALERT_RETENTION: &str = "alert_retention";
const AUDIT_RETENTION: &str = "audit_retention";

/// The most restore points a store may be set to keep.
pub const MAX_RESTORE_POINTS_LIMIT: usize = 1024;

/// A store's settings: the values that shape what it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How many log entries the ring keeps (at least 1).
    pub log_capacity: u64,
    /// How long an idempotency key lives from its creation.
    pub idempotency_ttl: Duration,
    /// How failed dead letters are rescheduled, and their default max attempts.
    pub dead_letter_policy: RetryPolicy,
    /// How long Done and Dead dead letters are kept before a purge deletes them.
    pub dead_letter_purge_after: Duration,
    /// The most restore points that may exist at once.
    pub max_restore_points: usize,
    /// What a backup prune keeps (`hardstore backup prune`, [`Settings`]-driven calls).
    pub backup_retention: Retention,
    /// When backups are due.
    pub backup_schedule: Schedule,
    /// Where `health` grades healthy, degraded and critical.
    pub health: HealthThresholds,
    /// How long resolved alerts are kept before maintenance deletes them.
    pub alert_retention: Duration,
    /// How long audit entries keep their payloads before maintenance prunes them (their
    /// leaf hashes stay; see `Audit::prune`). `None` (the default): for ever.
    pub audit_retention: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            log_capacity: 100_000,
            idempotency_ttl: Duration::from_secs(24 * 3600),
            dead_letter_policy: RetryPolicy::default(),
            dead_letter_purge_after: Duration::from_secs(7 * 24 * 3600),
            max_restore_points: 32,
            backup_retention: Retention::default(),
            backup_schedule: Schedule::default(),
            health: HealthThresholds::default(),
            alert_retention: Duration::from_secs(30 * 24 * 3600),
            audit_retention: None,
        }
    }
}

impl Settings {
    /// Refuses values no store can run with.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.log_capacity == 0 {
            return Err(Error::InvalidArgument(
                "log capacity must be at least 1".into(),
            ));
        }
        check_max_points(self.max_restore_points)?;
        if self.idempotency_ttl.is_zero() {
            return Err(Error::InvalidArgument(
                "idempotency TTL must be longer than zero".into(),
            ));
        }
        self.dead_letter_policy.validate()?;
        self.health.validate()
    }
}

fn check_max_points(n: usize) -> Result<()> {
    if n == 0 || n > MAX_RESTORE_POINTS_LIMIT {
        return Err(Error::InvalidArgument(format!(
            "max restore points must be 1..={MAX_RESTORE_POINTS_LIMIT}, not {n}"
        )));
    }
    Ok(())
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A retry policy as stored (record version 1). Never change it: add a version instead.
#[derive(Serialize, Deserialize)]
struct PolicyV1 {
    base_us: u64,
    cap_us: u64,
    max_attempts: u32,
    /// 0 full, 1 decorrelated.
    jitter: u8,
    seed: Option<u64>,
}

/// Health thresholds as stored (record version 1). Never change it: add a version.
#[derive(Serialize, Deserialize)]
struct HealthV1 {
    window_us: u64,
    error_permille_degraded: u32,
    error_permille_critical: u32,
    p95_degraded_us: u64,
    p95_critical_us: u64,
    dead_letters_degraded: u64,
    dead_letters_critical: u64,
    file_size_limit: Option<u64>,
    disk_free_degraded: u64,
    disk_free_critical: u64,
    backups_expected: bool,
}

impl HealthV1 {
    fn of(h: &HealthThresholds) -> Self {
        Self {
            window_us: us(h.window),
            error_permille_degraded: h.error_permille_degraded,
            error_permille_critical: h.error_permille_critical,
            p95_degraded_us: us(h.p95_degraded),
            p95_critical_us: us(h.p95_critical),
            dead_letters_degraded: h.dead_letters_degraded,
            dead_letters_critical: h.dead_letters_critical,
            file_size_limit: h.file_size_limit,
            disk_free_degraded: h.disk_free_degraded,
            disk_free_critical: h.disk_free_critical,
            backups_expected: h.backups_expected,
        }
    }

    fn value(&self) -> HealthThresholds {
        HealthThresholds {
            window: Duration::from_micros(self.window_us),
            error_permille_degraded: self.error_permille_degraded,
            error_permille_critical: self.error_permille_critical,
            p95_degraded: Duration::from_micros(self.p95_degraded_us),
            p95_critical: Duration::from_micros(self.p95_critical_us),
            dead_letters_degraded: self.dead_letters_degraded,
            dead_letters_critical: self.dead_letters_critical,
            file_size_limit: self.file_size_limit,
            disk_free_degraded: self.disk_free_degraded,
            disk_free_critical: self.disk_free_critical,
            backups_expected: self.backups_expected,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RetentionV1 {
    max_age_us: Option<u64>,
    keep_fulls: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct ScheduleV1 {
    full_every_us: u64,
    incremental_every_us: u64,
    differential_every_us: u64,
    retention: Option<RetentionV1>,
}

impl RetentionV1 {
    fn of(r: &Retention) -> Self {
        Self {
            max_age_us: r.max_age.map(us),
            keep_fulls: r.keep_fulls.map(|n| n as u64),
        }
    }

    fn value(&self) -> Retention {
        Retention {
            max_age: self.max_age_us.map(Duration::from_micros),
            keep_fulls: self
                .keep_fulls
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }
}

/// One setting: how it is stored and read back.
fn encode_all(s: &Settings) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let p = &s.dead_letter_policy;
    let sch = &s.backup_schedule;
    Ok(vec![
        (LOG_CAPACITY, codec::encode(&s.log_capacity)?),
        (IDEM_TTL, codec::encode(&us(s.idempotency_ttl))?),
        (
            DLQ_POLICY,
            codec::encode(&PolicyV1 {
                base_us: us(p.base),
                cap_us: us(p.cap),
                max_attempts: p.max_attempts,
                jitter: match p.jitter {
                    Jitter::Full => 0,
                    Jitter::Decorrelated => 1,
                },
                seed: p.seed,
            })?,
        ),
        (
            DLQ_PURGE_AFTER,
            codec::encode(&us(s.dead_letter_purge_after))?,
        ),
        (MAX_POINTS, codec::encode(&(s.max_restore_points as u64))?),
        (
            BACKUP_RETENTION,
            codec::encode(&RetentionV1::of(&s.backup_retention))?,
        ),
        (
            BACKUP_SCHEDULE,
            codec::encode(&ScheduleV1 {
                full_every_us: us(sch.full_every),
                incremental_every_us: us(sch.incremental_every),
                differential_every_us: us(sch.differential_every),
                retention: sch.retention.as_ref().map(RetentionV1::of),
            })?,
        ),
        (HEALTH, codec::encode(&HealthV1::of(&s.health))?),
        (ALERT_RETENTION, codec::encode(&us(s.alert_retention))?),
        // 0: for ever.
        (
            AUDIT_RETENTION,
            codec::encode(&s.audit_retention.map_or(0, |d| us(d).max(1)))?,
        ),
    ])
}

/// Sets the field of `s` named `name` from its stored record.
fn decode_into(s: &mut Settings, name: &str, bytes: &[u8]) -> Result<()> {
    match name {
        LOG_CAPACITY => s.log_capacity = codec::decode(bytes)?,
        IDEM_TTL => s.idempotency_ttl = Duration::from_micros(codec::decode(bytes)?),
        DLQ_POLICY => {
            let p: PolicyV1 = codec::decode(bytes)?;
            s.dead_letter_policy = RetryPolicy {
                base: Duration::from_micros(p.base_us),
                cap: Duration::from_micros(p.cap_us),
                max_attempts: p.max_attempts,
                jitter: match p.jitter {
                    0 => Jitter::Full,
                    1 => Jitter::Decorrelated,
                    j => return Err(Error::Corrupted(format!("stored jitter kind {j}"))),
                },
                seed: p.seed,
            };
        }
        DLQ_PURGE_AFTER => s.dead_letter_purge_after = Duration::from_micros(codec::decode(bytes)?),
        MAX_POINTS => {
            let n: u64 = codec::decode(bytes)?;
            s.max_restore_points = usize::try_from(n).unwrap_or(usize::MAX);
        }
        BACKUP_RETENTION => s.backup_retention = codec::decode::<RetentionV1>(bytes)?.value(),
        BACKUP_SCHEDULE => {
            let r: ScheduleV1 = codec::decode(bytes)?;
            s.backup_schedule = Schedule {
                full_every: Duration::from_micros(r.full_every_us),
                incremental_every: Duration::from_micros(r.incremental_every_us),
                differential_every: Duration::from_micros(r.differential_every_us),
                retention: r.retention.map(|r| r.value()),
            };
        }
        HEALTH => s.health = codec::decode::<HealthV1>(bytes)?.value(),
        ALERT_RETENTION => s.alert_retention = Duration::from_micros(codec::decode(bytes)?),
        AUDIT_RETENTION => {
            let v: u64 = codec::decode(bytes)?;
            s.audit_retention = (v != 0).then(|| Duration::from_micros(v));
        }
        // Written by a newer build: kept, not read.
        _ => {}
    }
    Ok(())
}

/// Reads the stored settings; those the file lacks come from `seed`. Returns the
/// settings and whether any was missing.
pub(crate) fn load(
    read: &impl ReadableTable<&'static str, &'static [u8]>,
    seed: &Settings,
) -> Result<(Settings, bool)> {
    let mut s = seed.clone();
    let mut missing = false;
    for (name, _) in encode_all(seed)? {
        match read.get(name)? {
            Some(v) => decode_into(&mut s, name, v.value())?,
            None => missing = true,
        }
    }
    s.validate()
        .map_err(|e| Error::Corrupted(format!("stored settings: {e}")))?;
    Ok((s, missing))
}

/// Writes every setting of `s` that the table lacks (at create and at an upgrade).
pub(crate) fn fill_missing(txn: &redb::WriteTransaction, s: &Settings) -> Result<()> {
    let mut t = txn.open_table(SETTINGS)?;
    for (name, bytes) in encode_all(s)? {
        if t.get(name)?.is_none() {
            t.insert(name, bytes.as_slice())?;
        }
    }
    Ok(())
}

/// Writes every setting of `s` through the write path (the redo log sees it).
fn write_all(tx: &crate::WriteTx<'_>, s: &Settings) -> Result<()> {
    let mut t = tx.tracked(SETTINGS)?;
    for (name, bytes) in encode_all(s)? {
        let same = t.get(name)?.is_some_and(|v| v.value() == bytes.as_slice());
        if !same {
            t.insert(name, bytes.as_slice())?;
        }
    }
    Ok(())
}

/// What a settings change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// The seq of the audit entry that records the change.
    pub audit_seq: u64,
    /// Entries the change deleted (log entries evicted by a smaller ring).
    pub deleted: u64,
}

/// A store's settings: `store.settings()`. Reads are free; every change is a durable,
/// audited write (tenant `hardstore`, action `settings.set`).
#[derive(Debug, Clone)]
pub struct StoreSettings<'s> {
    store: &'s Store,
    actor: String,
}

impl<'s> StoreSettings<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self {
            store,
            actor: String::new(),
        }
    }

    /// Names who makes the changes that follow, for their audit entries.
    pub fn by(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// The store's current settings.
    pub fn get(&self) -> Settings {
        self.store.inner.settings.read().clone()
    }

    /// Sets the ring's capacity. A capacity below the entries the ring holds evicts the
    /// oldest surplus, and is refused with [`Error::ConfirmationRequired`] (naming the
    /// count, changing nothing) unless `confirm_evict` allows at least that many. The
    /// change reports how many it evicted.
    pub fn set_log_capacity(&self, capacity: u64, confirm_evict: u64) -> Result<SettingChange> {
        if capacity == 0 {
            return Err(Error::InvalidArgument(
                "log capacity must be at least 1".into(),
            ));
        }
        let held = self.store.logs().len()?;
        let evicts = held.saturating_sub(capacity);
        if evicts > confirm_evict {
            return Err(Error::ConfirmationRequired {
                what: format!("a log capacity of {capacity} evicts the oldest {evicts} entries"),
                deletes: evicts,
            });
        }
        self.change(
            LOG_CAPACITY,
            move |s| s.log_capacity = capacity,
            confirm_evict,
        )
    }

    /// Sets how long idempotency keys begun from now on live (keys already stored keep
    /// their expiry).
    pub fn set_idempotency_ttl(&self, ttl: Duration) -> Result<SettingChange> {
        if ttl.is_zero() {
            return Err(Error::InvalidArgument(
                "idempotency TTL must be longer than zero".into(),
            ));
        }
        self.change(IDEM_TTL, move |s| s.idempotency_ttl = ttl, 0)
    }

    /// Sets how failed dead letters are rescheduled from now on.
    pub fn set_dead_letter_policy(&self, policy: RetryPolicy) -> Result<SettingChange> {
        policy.validate()?;
        self.change(DLQ_POLICY, move |s| s.dead_letter_policy = policy, 0)
    }

    /// Sets how long Done and Dead dead letters are kept before a purge deletes them
    /// (nothing is deleted until a purge runs).
    pub fn set_dead_letter_purge_after(&self, age: Duration) -> Result<SettingChange> {
        self.change(DLQ_PURGE_AFTER, move |s| s.dead_letter_purge_after = age, 0)
    }

    /// Sets the most restore points that may exist at once (1..=1024). A cap below the
    /// points that exist is refused: delete points first (that says what goes).
    pub fn set_max_restore_points(&self, max: usize) -> Result<SettingChange> {
        check_max_points(max)?;
        let have = self.store.restore_points().list()?.len();
        if have > max {
            return Err(Error::InvalidArgument(format!(
                "{have} restore points exist, more than a cap of {max}; delete some first"
            )));
        }
        self.change(MAX_POINTS, move |s| s.max_restore_points = max, 0)
    }

    /// Sets what a backup prune keeps (nothing is deleted until a prune runs).
    pub fn set_backup_retention(&self, retention: Retention) -> Result<SettingChange> {
        self.change(
            BACKUP_RETENTION,
            move |s| s.backup_retention = retention.clone(),
            0,
        )
    }

    /// Sets when backups are due.
    pub fn set_backup_schedule(&self, schedule: Schedule) -> Result<SettingChange> {
        self.change(
            BACKUP_SCHEDULE,
            move |s| s.backup_schedule = schedule.clone(),
            0,
        )
    }

    /// Sets where `health` grades healthy, degraded and critical.
    pub fn set_health_thresholds(&self, thresholds: HealthThresholds) -> Result<SettingChange> {
        thresholds.validate()?;
        self.change(HEALTH, move |s| s.health = thresholds.clone(), 0)
    }

    /// Sets how long resolved alerts are kept before maintenance deletes them (nothing is
    /// deleted until maintenance runs).
    pub fn set_alert_retention(&self, age: Duration) -> Result<SettingChange> {
        self.change(ALERT_RETENTION, move |s| s.alert_retention = age, 0)
    }

    /// Sets how long audit entries keep their payloads before maintenance prunes them
    /// (`None`: for ever). Setting it is the confirmation maintenance's prunes run under;
    /// nothing is pruned until maintenance runs. At least one day.
    pub fn set_audit_retention(&self, age: Option<Duration>) -> Result<SettingChange> {
        if age.is_some_and(|a| a < Duration::from_secs(86_400)) {
            return Err(Error::InvalidArgument(
                "an audit retention is at least one day".into(),
            ));
        }
        self.change(AUDIT_RETENTION, move |s| s.audit_retention = age, 0)
    }

    /// Applies `edit` to the settings in one durable write with its audit entry, which
    /// may delete at most `allowed` entries (the ring cut to a new capacity).
    fn change(
        &self,
        name: &'static str,
        edit: impl Fn(&mut Settings) + Send + 'static,
        allowed: u64,
    ) -> Result<SettingChange> {
        let actor = self.actor.clone();
        let shared = self.store.inner.clone();
        // The settings a batch sees are the writer's (`WriterState`), so two changes in
        // one batch build on one another.
        self.store.write(Durability::Durable, move |tx| {
            let mut next = tx.settings().clone();
            let old = describe(&next, name);
            edit(&mut next);
            next.validate()?;
            let new = describe(&next, name);
            write_all(tx, &next)?;
            let deleted = tx.apply_settings(&next)?;
            if deleted > allowed {
                return Err(Error::ConfirmationRequired {
                    what: format!(
                        "the ring changed meanwhile: a capacity of {} evicts {deleted} entries",
                        next.log_capacity
                    ),
                    deletes: deleted,
                });
            }
            let event = crate::AuditEvent::new("hardstore", "settings.set")
                .actor(actor.clone())
                .resource(format!("settings/{name}"))
                .outcome("ok")
                .detail("old", old)
                .detail("new", new)
                .detail("deleted", deleted.to_string());
            let receipt = tx.audit_append(&event)?;
            let published = shared.clone();
            tx.after(Box::new(move |committed| {
                if committed {
                    *published.settings.write() = next;
                }
            }));
            Ok(SettingChange {
                audit_seq: receipt.seq,
                deleted,
            })
        })
    }
}

/// A setting's value as text, for its audit entry.
fn describe(s: &Settings, name: &str) -> String {
    match name {
        LOG_CAPACITY => s.log_capacity.to_string(),
        IDEM_TTL => format!("{:?}", s.idempotency_ttl),
        DLQ_POLICY => format!("{:?}", s.dead_letter_policy),
        DLQ_PURGE_AFTER => format!("{:?}", s.dead_letter_purge_after),
        MAX_POINTS => s.max_restore_points.to_string(),
        BACKUP_RETENTION => format!("{:?}", s.backup_retention),
        BACKUP_SCHEDULE => format!("{:?}", s.backup_schedule),
        HEALTH => format!("{:?}", s.health),
        ALERT_RETENTION => format!("{:?}", s.alert_retention),
        AUDIT_RETENTION => match s.audit_retention {
            Some(d) => format!("{d:?}"),
            None => "for ever".into(),
        },
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_round_trips_through_its_record() {
        let s = Settings {
            log_capacity: 7,
            idempotency_ttl: Duration::from_millis(1500),
            dead_letter_policy: RetryPolicy::new(Duration::from_millis(3), Duration::from_secs(9))
                .max_attempts(11)
                .jitter(Jitter::Decorrelated)
                .seed(42),
            dead_letter_purge_after: Duration::from_secs(5),
            max_restore_points: 3,
            backup_retention: Retention {
                max_age: None,
                keep_fulls: Some(4),
            },
            backup_schedule: Schedule {
                full_every: Duration::from_secs(1),
                incremental_every: Duration::from_secs(2),
                differential_every: Duration::from_secs(3),
                retention: None,
            },
            health: HealthThresholds {
                window: Duration::from_secs(60),
                error_permille_degraded: 10,
                error_permille_critical: 900,
                p95_degraded: Duration::from_millis(7),
                p95_critical: Duration::from_millis(70),
                dead_letters_degraded: 3,
                dead_letters_critical: 30,
                file_size_limit: Some(1 << 40),
                disk_free_degraded: 5 << 30,
                disk_free_critical: 1 << 30,
                backups_expected: true,
            },
            alert_retention: Duration::from_secs(77),
            audit_retention: Some(Duration::from_secs(400 * 86_400)),
        };
        let mut back = Settings::default();
        for (name, bytes) in encode_all(&s).unwrap() {
            decode_into(&mut back, name, &bytes).unwrap();
        }
        assert_eq!(back, s);
        assert!(decode_into(&mut back, LOG_CAPACITY, &[9, 1]).is_err());
    }
}
