//! Settings live in the store: `Options` only seeds a new store, opening with other
//! options changes nothing, and every change is explicit, audited, and asks before it
//! deletes.

mod common;

use std::time::Duration;

use hardstore::backup::{Retention, Schedule};
use hardstore::dead_letters::{NewDeadLetter, RetryPolicy};
use hardstore::logs::{Level, LogRecord};
use hardstore::{AuditQuery, Durability, Error, ManualClock, Options, Settings, Store};

fn app_options(clock: &ManualClock) -> Options {
    Options::new()
        .clock(clock.clone())
        .log_capacity(50)
        .idempotency_ttl(Duration::from_secs(600))
        .dead_letter_policy(RetryPolicy::new(
            Duration::from_millis(5),
            Duration::from_secs(1),
        ))
        .dead_letter_purge_after(Duration::from_secs(60))
        .max_restore_points(3)
        .backup_retention(Retention {
            max_age: None,
            keep_fulls: Some(2),
        })
        .backup_schedule(Schedule {
            full_every: Duration::from_secs(7200),
            ..Schedule::default()
        })
}

fn log_lines(store: &Store, n: u64) {
    for i in 0..n {
        store
            .logs()
            .append(
                LogRecord::new(Level::Info, format!("l{i}")),
                Durability::Buffered,
            )
            .unwrap();
    }
    store.flush().unwrap();
}

#[test]
fn options_seed_a_new_store_and_never_change_an_existing_one() {
    let dir = common::TempDir::new("settings");
    let path = dir.file("s.hs");
    let clock = ManualClock::new(1_000_000_000);
    let store = Store::open(&path, app_options(&clock)).unwrap();
    let created: Settings = store.settings().get();
    assert_eq!(created.log_capacity, 50);
    assert_eq!(created.max_restore_points, 3);
    assert_eq!(created.backup_retention.keep_fulls, Some(2));
    log_lines(&store, 45);
    store.close().unwrap();

    // An operator tool opening with defaults, then one asking for a tiny ring.
    for opts in [
        Options::new(),
        Options::new().log_capacity(5).max_restore_points(1),
    ] {
        let store = Store::open(&path, opts).unwrap();
        assert_eq!(store.settings().get(), created);
        assert_eq!(store.logs().len().unwrap(), 45, "nothing evicted");
        assert_eq!(store.logs().capacity(), 50);
        assert_eq!(store.dead_letters().policy(), created.dead_letter_policy);
        store.close().unwrap();
    }
}

#[test]
fn a_smaller_ring_says_how_many_it_evicts_and_needs_that_confirmed() {
    let clock = ManualClock::new(1_000_000_000);
    let store = Store::in_memory(app_options(&clock)).unwrap();
    log_lines(&store, 45);
    let settings = store.settings().by("ops@example");
    match settings.set_log_capacity(20, 24) {
        Err(Error::ConfirmationRequired { deletes, .. }) => assert_eq!(deletes, 25),
        other => panic!("unconfirmed eviction went through: {other:?}"),
    }
    assert_eq!(
        store.logs().len().unwrap(),
        45,
        "a refused change changes nothing"
    );
    assert_eq!(store.settings().get().log_capacity, 50);
    let size = store.audit().size().unwrap();
    let change = settings.set_log_capacity(20, 25).unwrap();
    assert_eq!(change.deleted, 25);
    assert_eq!(change.audit_seq, size);
    assert_eq!(store.logs().len().unwrap(), 20);
    assert_eq!(store.logs().capacity(), 20);
    let entry = store.audit().get(change.audit_seq).unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str()),
        ("settings.set", "ops@example")
    );
    assert_eq!(entry.resource, "settings/log_capacity");
    let details: Vec<(&str, &str)> = entry
        .details
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        details,
        vec![("old", "50"), ("new", "20"), ("deleted", "25")]
    );
    // The ring keeps its new capacity as it fills; growing it deletes nothing.
    log_lines(&store, 30);
    assert_eq!(store.logs().len().unwrap(), 20);
    assert_eq!(settings.set_log_capacity(1000, 0).unwrap().deleted, 0);
    assert!(matches!(
        settings.set_log_capacity(0, 0),
        Err(Error::InvalidArgument(_))
    ));
    let audited = store
        .audit()
        .query(&AuditQuery::new("hardstore").action("settings.set"))
        .unwrap();
    assert_eq!(audited.entries.len(), 2);
}

#[test]
fn each_setting_takes_effect_and_survives_a_reopen() {
    let dir = common::TempDir::new("settings-effect");
    let path = dir.file("s.hs");
    let clock = ManualClock::new(1_000_000_000);
    let store = Store::open(&path, app_options(&clock)).unwrap();
    let s = store.settings();

    // Restore-point cap: not below the points that exist, and enforced.
    let a = store.restore_points().create("a").unwrap();
    store.restore_points().create("b").unwrap();
    assert!(matches!(
        s.set_max_restore_points(1),
        Err(Error::InvalidArgument(_))
    ));
    s.set_max_restore_points(2).unwrap();
    assert!(matches!(
        store.restore_points().create("c"),
        Err(Error::LimitReached { max: 2, .. })
    ));
    store.restore_points().delete(a.id).unwrap();

    // Purge window: a Done item goes once older than the new window.
    let dl = store.dead_letters();
    dl.record(
        NewDeadLetter::new("acme", "email", b"x".to_vec()),
        Durability::Durable,
    )
    .unwrap();
    let c = dl
        .claim_due(1, Duration::from_secs(30))
        .unwrap()
        .pop()
        .unwrap();
    dl.ack(&c).unwrap();
    clock.advance(10_000_000);
    assert_eq!(dl.purge(None).unwrap(), 0, "60 s window: kept");
    s.set_dead_letter_purge_after(Duration::from_secs(5))
        .unwrap();
    assert_eq!(dl.purge(None).unwrap(), 1);

    // Retry policy and TTL: read back; the policy reschedules new failures.
    let policy = RetryPolicy::new(Duration::from_secs(2), Duration::from_secs(2)).seed(1);
    s.set_dead_letter_policy(policy).unwrap();
    assert_eq!(dl.policy(), policy);
    s.set_idempotency_ttl(Duration::from_secs(30)).unwrap();
    let retention = Retention {
        max_age: Some(Duration::from_secs(3600)),
        keep_fulls: None,
    };
    s.set_backup_retention(retention.clone()).unwrap();
    let schedule = Schedule {
        retention: None,
        ..Schedule::default()
    };
    s.set_backup_schedule(schedule.clone()).unwrap();
    let want = s.get();
    assert_eq!(want.idempotency_ttl, Duration::from_secs(30));
    assert_eq!(want.backup_retention, retention);
    assert_eq!(want.backup_schedule, schedule);
    assert!(matches!(
        s.set_idempotency_ttl(Duration::ZERO),
        Err(Error::InvalidArgument(_))
    ));
    assert!(s
        .set_dead_letter_policy(RetryPolicy::new(
            Duration::from_secs(2),
            Duration::from_secs(1)
        ))
        .is_err());
    store.close().unwrap();

    let store = Store::open(&path, Options::new().clock(clock.clone())).unwrap();
    assert_eq!(store.settings().get(), want);
    // The TTL applies to keys begun from now on.
    let idem = store.idempotency();
    let hardstore::Begin::Started(t) = idem
        .begin("acme", "k", b"r", Duration::from_secs(10))
        .unwrap()
    else {
        panic!("fresh key")
    };
    idem.complete(&t, Some(200), b"ok").unwrap();
    let info = idem.get("acme", "k").unwrap().unwrap();
    assert_eq!(info.expires - info.created, 30_000_000);
    store.close().unwrap();
}

#[test]
fn concurrent_changes_never_lose_one_another() {
    let clock = ManualClock::new(1_000_000_000);
    let store = Store::in_memory(app_options(&clock)).unwrap();
    std::thread::scope(|scope| {
        let s1 = store.clone();
        let s2 = store.clone();
        scope.spawn(move || {
            for i in 0..20u64 {
                s1.settings().set_log_capacity(100 + i, 0).unwrap();
            }
        });
        scope.spawn(move || {
            for i in 0..20u64 {
                s2.settings()
                    .set_idempotency_ttl(Duration::from_secs(100 + i))
                    .unwrap();
            }
        });
    });
    let s = store.settings().get();
    assert_eq!(s.log_capacity, 119);
    assert_eq!(s.idempotency_ttl, Duration::from_secs(119));
}
