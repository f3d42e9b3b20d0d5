//! `settings`: the store's own settings (`store.settings()`), shown and changed.
//!
//! A setting is named on the command line as `show` prints it (`log-capacity`,
//! `backup-full-every`, ...). Durations read as `30s`, `15m`, `24h`, `7d` (also `ms`,
//! `us`) or raw microseconds; the optional ones also take `none` (or `0`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use hardstore::{Error, Result, SettingChange, Settings, Store};
use serde_json::json;

use crate::{emit, open};

#[derive(Subcommand)]
pub(crate) enum SettingsCmd {
    /// Every setting the store keeps, as `settings set` names it.
    Show {
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Changes setting NAME to VALUE: an audited write that prints its audit seq.
    ///
    /// NAME is one of log-capacity, idempotency-ttl, dead-letter-purge-after,
    /// max-restore-points, dead-letter-max-attempts, dead-letter-retry-base,
    /// dead-letter-retry-cap, backup-retention-max-age, backup-retention-keep-fulls,
    /// backup-full-every, backup-incremental-every, backup-differential-every. Durations:
    /// 30s, 15m, 24h, 7d (or ms, us) or raw microseconds; backup-retention-* also take
    /// none (or 0) for no limit. A smaller log-capacity that evicts entries is refused,
    /// changing nothing, unless --confirm-evict allows at least that many.
    Set {
        store: PathBuf,
        name: String,
        value: String,
        /// Who makes the change, for its audit entry.
        #[arg(long, default_value = "hardstore-cli")]
        actor: String,
        /// The most log entries a smaller log-capacity may evict.
        #[arg(long)]
        confirm_evict: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

/// Every name `settings set` takes, in the order `show` prints them.
const NAMES: [&str; 25] = [
    "log-capacity",
    "idempotency-ttl",
    "dead-letter-max-attempts",
    "dead-letter-retry-base",
    "dead-letter-retry-cap",
    "dead-letter-purge-after",
    "max-restore-points",
    "backup-retention-max-age",
    "backup-retention-keep-fulls",
    "backup-full-every",
    "backup-incremental-every",
    "backup-differential-every",
    "alert-retention",
    "audit-retention",
    "health-window",
    "health-error-permille-degraded",
    "health-error-permille-critical",
    "health-p95-degraded",
    "health-p95-critical",
    "health-dead-letters-degraded",
    "health-dead-letters-critical",
    "health-file-size-limit",
    "health-disk-free-degraded",
    "health-disk-free-critical",
    "health-backups-expected",
];

const UNITS: [(&str, u64); 6] = [
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
];

/// A duration for people, exact: the largest unit it is a whole number of (days only
/// from two days on, so a day reads `24h`), e.g. `90m`, `24h`, `7d`, `1500ms`.
pub(crate) fn human(d: Duration) -> String {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    if us == 0 {
        return "0s".into();
    }
    for (unit, per) in UNITS {
        if us % per == 0 && (unit != "d" || us >= 2 * per) {
            return format!("{}{unit}", us / per);
        }
    }
    unreachable!("every count of microseconds is a whole number of us")
}

/// A duration given on the command line: a count with a unit (`d`, `h`, `m`, `s`, `ms`,
/// `us`), or raw microseconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || {
        Error::InvalidArgument(format!(
            "duration {s:?}: give 30s, 15m, 24h, 7d (or ms, us) or raw microseconds"
        ))
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (count, unit) = s.split_at(split);
    if count.is_empty() {
        return Err(bad());
    }
    let n: u64 = count.parse().map_err(|_| bad())?;
    let per = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, per)| *per)
            .ok_or_else(bad)?
    };
    n.checked_mul(per)
        .map(Duration::from_micros)
        .ok_or_else(|| Error::InvalidArgument(format!("duration {s:?} is too long")))
}

/// `none` or `0`: no limit; otherwise `parse`.
fn optional<T>(
    s: &str,
    zero: impl Fn(&T) -> bool,
    parse: impl Fn(&str) -> Result<T>,
) -> Result<Option<T>> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let v = parse(s)?;
    Ok(if zero(&v) { None } else { Some(v) })
}

fn count<T: std::str::FromStr>(name: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::InvalidArgument(format!("{name}: {s:?} is not a whole number")))
}

fn opt_text<T>(v: &Option<T>, f: impl Fn(&T) -> String) -> String {
    v.as_ref().map_or_else(|| "none".into(), f)
}

/// Setting `name`'s value in `s`, as `set` takes it.
fn value_of(s: &Settings, name: &str) -> String {
    let p = &s.dead_letter_policy;
    let r = &s.backup_retention;
    let sch = &s.backup_schedule;
    let h = &s.health;
    match name {
        "log-capacity" => s.log_capacity.to_string(),
        "idempotency-ttl" => human(s.idempotency_ttl),
        "dead-letter-max-attempts" => p.max_attempts.to_string(),
        "dead-letter-retry-base" => human(p.base),
        "dead-letter-retry-cap" => human(p.cap),
        "dead-letter-purge-after" => human(s.dead_letter_purge_after),
        "max-restore-points" => s.max_restore_points.to_string(),
        "backup-retention-max-age" => opt_text(&r.max_age, |d| human(*d)),
        "backup-retention-keep-fulls" => opt_text(&r.keep_fulls, usize::to_string),
        "backup-full-every" => human(sch.full_every),
        "backup-incremental-every" => human(sch.incremental_every),
        "backup-differential-every" => human(sch.differential_every),
        "alert-retention" => human(s.alert_retention),
        "audit-retention" => s.audit_retention.map_or("forever".into(), human),
        "health-window" => human(h.window),
        "health-error-permille-degraded" => h.error_permille_degraded.to_string(),
        "health-error-permille-critical" => h.error_permille_critical.to_string(),
        "health-p95-degraded" => human(h.p95_degraded),
        "health-p95-critical" => human(h.p95_critical),
        "health-dead-letters-degraded" => h.dead_letters_degraded.to_string(),
        "health-dead-letters-critical" => h.dead_letters_critical.to_string(),
        "health-file-size-limit" => opt_text(&h.file_size_limit, u64::to_string),
        "health-disk-free-degraded" => h.disk_free_degraded.to_string(),
        "health-disk-free-critical" => h.disk_free_critical.to_string(),
        "health-backups-expected" => if h.backups_expected { "yes" } else { "no" }.into(),
        _ => String::new(),
    }
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn retention_json(r: &hardstore::Retention) -> serde_json::Value {
    json!({
        "max_age_us": r.max_age.map(us),
        "max_age": opt_text(&r.max_age, |d| human(*d)),
        "keep_fulls": r.keep_fulls,
    })
}

/// The text form of a retention, for `show` and `backup prune`.
pub(crate) fn retention_text(r: &hardstore::Retention) -> String {
    format!(
        "max age {}, keep fulls {}",
        opt_text(&r.max_age, |d| human(*d)),
        opt_text(&r.keep_fulls, usize::to_string)
    )
}

fn settings_json(s: &Settings) -> serde_json::Value {
    let p = &s.dead_letter_policy;
    let sch = &s.backup_schedule;
    json!({
        "log_capacity": s.log_capacity,
        "idempotency_ttl_us": us(s.idempotency_ttl),
        "idempotency_ttl": human(s.idempotency_ttl),
        "dead_letter_policy": {
            "max_attempts": p.max_attempts,
            "retry_base_us": us(p.base), "retry_base": human(p.base),
            "retry_cap_us": us(p.cap), "retry_cap": human(p.cap),
            "jitter": format!("{:?}", p.jitter).to_lowercase(),
            "seed": p.seed,
        },
        "dead_letter_purge_after_us": us(s.dead_letter_purge_after),
        "dead_letter_purge_after": human(s.dead_letter_purge_after),
        "max_restore_points": s.max_restore_points,
        "backup_retention": retention_json(&s.backup_retention),
        "backup_schedule": {
            "full_every_us": us(sch.full_every), "full_every": human(sch.full_every),
            "incremental_every_us": us(sch.incremental_every),
            "incremental_every": human(sch.incremental_every),
            "differential_every_us": us(sch.differential_every),
            "differential_every": human(sch.differential_every),
            // `backup run-due` prunes by `backup_retention` after a run unless false.
            "run_due_prunes": sch.retention.is_some(),
        },
        "alert_retention_us": us(s.alert_retention),
        "alert_retention": human(s.alert_retention),
        "audit_retention_us": s.audit_retention.map(us),
        "audit_retention": s.audit_retention.map_or("forever".into(), human),
        "health": {
            "window_us": us(s.health.window), "window": human(s.health.window),
            "error_permille_degraded": s.health.error_permille_degraded,
            "error_permille_critical": s.health.error_permille_critical,
            "p95_degraded_us": us(s.health.p95_degraded),
            "p95_critical_us": us(s.health.p95_critical),
            "dead_letters_degraded": s.health.dead_letters_degraded,
            "dead_letters_critical": s.health.dead_letters_critical,
            "file_size_limit": s.health.file_size_limit,
            "disk_free_degraded": s.health.disk_free_degraded,
            "disk_free_critical": s.health.disk_free_critical,
            "backups_expected": s.health.backups_expected,
        },
    })
}

fn show(s: &Settings) {
    for name in NAMES {
        println!("{name:<28} {}", value_of(s, name));
    }
    // Kept in the store but set only through the API.
    let p = &s.dead_letter_policy;
    println!(
        "{:<28} {}",
        "dead-letter-jitter",
        format!("{:?}", p.jitter).to_lowercase()
    );
    println!(
        "{:<28} {}",
        "dead-letter-seed",
        p.seed
            .map_or_else(|| "from the OS".into(), |n| n.to_string())
    );
    // `backup run-due` prunes by the retention above unless the schedule says not to.
    println!(
        "{:<28} {}",
        "backup-run-due-prunes",
        if s.backup_schedule.retention.is_some() {
            "yes"
        } else {
            "no"
        }
    );
}

/// Applies `value` to setting `name`.
fn set(store: &Store, actor: &str, name: &str, value: &str, confirm: u64) -> Result<SettingChange> {
    let settings = store.settings().by(actor);
    let now = settings.get();
    let mut policy = now.dead_letter_policy;
    let mut retention = now.backup_retention.clone();
    let mut schedule = now.backup_schedule.clone();
    let mut health = now.health.clone();
    match name {
        "alert-retention" => return settings.set_alert_retention(parse_duration(value)?),
        "audit-retention" => {
            let age = match value {
                "forever" => None,
                v => Some(parse_duration(v)?),
            };
            return settings.set_audit_retention(age);
        }
        "health-window" => health.window = parse_duration(value)?,
        "health-error-permille-degraded" => health.error_permille_degraded = count(name, value)?,
        "health-error-permille-critical" => health.error_permille_critical = count(name, value)?,
        "health-p95-degraded" => health.p95_degraded = parse_duration(value)?,
        "health-p95-critical" => health.p95_critical = parse_duration(value)?,
        "health-dead-letters-degraded" => health.dead_letters_degraded = count(name, value)?,
        "health-dead-letters-critical" => health.dead_letters_critical = count(name, value)?,
        "health-file-size-limit" => {
            health.file_size_limit = optional(value, |n| *n == 0, |v| count(name, v))?
        }
        "health-disk-free-degraded" => health.disk_free_degraded = count(name, value)?,
        "health-disk-free-critical" => health.disk_free_critical = count(name, value)?,
        "health-backups-expected" => {
            health.backups_expected = match value {
                "yes" | "true" => true,
                "no" | "false" => false,
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "{name}: {value:?} is not yes or no"
                    )))
                }
            }
        }
        "log-capacity" => return settings.set_log_capacity(count(name, value)?, confirm),
        "idempotency-ttl" => return settings.set_idempotency_ttl(parse_duration(value)?),
        "dead-letter-purge-after" => {
            return settings.set_dead_letter_purge_after(parse_duration(value)?)
        }
        "max-restore-points" => return settings.set_max_restore_points(count(name, value)?),
        "dead-letter-max-attempts" => policy.max_attempts = count(name, value)?,
        "dead-letter-retry-base" => policy.base = parse_duration(value)?,
        "dead-letter-retry-cap" => policy.cap = parse_duration(value)?,
        "backup-retention-max-age" => {
            retention.max_age = optional(value, Duration::is_zero, parse_duration)?
        }
        "backup-retention-keep-fulls" => {
            retention.keep_fulls = optional(value, |n| *n == 0, |v| count(name, v))?
        }
        "backup-full-every" => schedule.full_every = parse_duration(value)?,
        "backup-incremental-every" => schedule.incremental_every = parse_duration(value)?,
        "backup-differential-every" => schedule.differential_every = parse_duration(value)?,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "no setting {name:?}; the settings are {}",
                NAMES.join(", ")
            )))
        }
    }
    if name.starts_with("health-") {
        settings.set_health_thresholds(health)
    } else if name.starts_with("dead-letter-") {
        settings.set_dead_letter_policy(policy)
    } else if name.starts_with("backup-retention-") {
        settings.set_backup_retention(retention)
    } else {
        settings.set_backup_schedule(schedule)
    }
}

pub(crate) fn settings(c: SettingsCmd) -> Result<()> {
    match c {
        SettingsCmd::Show { store, json } => {
            let s = open(&store)?;
            let now = s.settings().get();
            emit(json, settings_json(&now), || show(&now));
            s.close()
        }
        SettingsCmd::Set {
            store,
            name,
            value,
            actor,
            confirm_evict,
            json,
        } => {
            if confirm_evict.is_some() && name != "log-capacity" {
                return Err(Error::InvalidArgument(
                    "--confirm-evict applies to log-capacity only (no other setting deletes anything)"
                        .into(),
                ));
            }
            let s = open(&store)?;
            let old = value_of(&s.settings().get(), &name);
            let res = set(&s, &actor, &name, &value, confirm_evict.unwrap_or(0));
            let change = match res {
                Ok(c) => c,
                Err(e) => {
                    s.close()?;
                    return Err(e);
                }
            };
            let new = value_of(&s.settings().get(), &name);
            let v = json!({"setting": name, "old": old, "new": new,
                           "audit_seq": change.audit_seq, "deleted": change.deleted});
            emit(json, v, || {
                println!("{name}: {old} -> {new} (audit entry {})", change.audit_seq);
                if change.deleted > 0 {
                    println!("deleted the oldest {} log entries", change.deleted);
                }
            });
            s.close()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_exactly() {
        let h = Duration::from_secs(3600);
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("24h").unwrap(), 24 * h);
        assert_eq!(parse_duration("7d").unwrap(), 7 * 24 * h);
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5us").unwrap(), Duration::from_micros(5));
        assert_eq!(
            parse_duration("1500000").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in [
            "",
            "h",
            "1.5h",
            "-1s",
            "1w",
            "1 h",
            "1H",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(human(24 * h), "24h");
        assert_eq!(human(48 * h), "2d");
        assert_eq!(human(7 * 24 * h), "7d");
        assert_eq!(human(36 * h), "36h");
        assert_eq!(human(Duration::from_secs(90 * 60)), "90m");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
        assert_eq!(human(Duration::from_micros(7)), "7us");
        assert_eq!(human(Duration::ZERO), "0s");
        for us in [
            1,
            999,
            1_000,
            61_000_000,
            86_400_000_000,
            3 * 86_400_000_001,
        ] {
            let d = Duration::from_micros(us);
            assert_eq!(parse_duration(&human(d)).unwrap(), d);
        }
    }

    #[test]
    fn optional_values_take_none_and_zero() {
        let age = |s| optional(s, Duration::is_zero, parse_duration);
        assert_eq!(age("none").unwrap(), None);
        assert_eq!(age("0").unwrap(), None);
        assert_eq!(age("0d").unwrap(), None);
        assert_eq!(age("30d").unwrap(), Some(Duration::from_secs(30 * 86_400)));
        let keep = |s| optional(s, |n: &usize| *n == 0, |v| count("k", v));
        assert_eq!(keep("NONE").unwrap(), None);
        assert_eq!(keep("3").unwrap(), Some(3));
        assert!(keep("three").is_err());
    }
}
