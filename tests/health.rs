//! Health: every component graded against its stored thresholds, the audit check
//! incremental and catching a tampered entry, request figures over the window only,
//! alerts raised and resolved when a grade changes (and only then), a poisoned store
//! reported critical, the deep check, and health changing nothing by itself.

mod common;

use std::time::Duration;

use common::sim_disk::{Fault, SimDisk};
use common::TempDir;
use hardstore::alerts::{AlertQuery, AlertScope, Severity};
use hardstore::dead_letters::NewDeadLetter;
use hardstore::health::{Grade, HealthOptions, HealthThresholds};
use hardstore::{
    AuditEvent, BackupKind, BackupOptions, Durability, Error, Level, LogRecord, ManualClock,
    Options, Store,
};

const T0: u64 = 1_796_290_312_123_456;
const SEC: u64 = 1_000_000;

fn names(r: &hardstore::health::HealthReport) -> Vec<&str> {
    r.components.iter().map(|c| c.name).collect()
}

fn status(r: &hardstore::health::HealthReport, name: &str) -> Grade {
    r.component(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .status
}

fn append(store: &Store, n: u64) {
    store
        .write(Durability::Durable, move |tx| {
            for i in 0..n {
                tx.audit_append(&AuditEvent::new("acme", "order.paid").resource(format!("o/{i}")))?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_fresh_store_is_healthy_and_a_check_changes_nothing() {
    let dir = TempDir::new("health-fresh");
    let store = Store::open(dir.file("h.hs"), Options::new()).unwrap();
    append(&store, 10);
    let r = store.health().unwrap();
    assert_eq!(r.grade, Grade::Healthy, "{r:#?}");
    assert_eq!(
        names(&r),
        [
            "writer",
            "audit",
            "dead_letters",
            "backups",
            "restore_points",
            "requests",
            "file_size",
            "disk_free"
        ]
    );
    assert!(r.component("file_size").unwrap().value.unwrap() > 0.0);
    assert!(r.component("disk_free").unwrap().value.unwrap() > 0.0);
    assert_eq!(r.component("audit").unwrap().value, Some(10.0));
    assert_eq!((r.alerts_raised, r.alerts_resolved), (0, 0));
    assert_eq!(store.audit().size().unwrap(), 10, "health wrote nothing");
    assert_eq!(store.alerts().counts().unwrap().unresolved, 0);
    let deep = store.health_deep().unwrap();
    assert_eq!(status(&deep, "integrity"), Grade::Healthy);
    assert!(deep
        .component("integrity")
        .unwrap()
        .reason
        .contains("10 audit entries"));
    // In memory, the file checks have nothing to measure.
    let mem = Store::in_memory(Options::new()).unwrap();
    let r = mem.health().unwrap();
    assert_eq!(r.component("file_size").unwrap().value, None);
    assert_eq!(r.grade, Grade::Healthy);
}

#[test]
fn the_audit_check_verifies_only_new_entries_and_catches_a_tampered_one() {
    let dir = TempDir::new("health-audit");
    let path = dir.file("h.hs");
    let store = Store::open(&path, Options::new()).unwrap();
    append(&store, 300);
    let first = store.health().unwrap();
    assert!(first
        .component("audit")
        .unwrap()
        .reason
        .contains("(300 since the last check)"));
    append(&store, 5);
    let second = store.health().unwrap();
    assert!(
        second
            .component("audit")
            .unwrap()
            .reason
            .contains("305 entries verified (5 since"),
        "{second:#?}"
    );
    store.close().unwrap();

    // Flip a byte of entry 123 behind the store's back.
    {
        const ENTRIES: redb::TableDefinition<u64, &[u8]> =
            redb::TableDefinition::new("audit.entries");
        use redb::ReadableTable;
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(ENTRIES).unwrap();
            let mut v = t.get(123).unwrap().unwrap().value().to_vec();
            *v.last_mut().unwrap() ^= 1;
            t.insert(123, v.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = Store::open(&path, Options::new()).unwrap();
    let r = store.health().unwrap();
    assert_eq!(r.grade, Grade::Critical);
    let audit = r.component("audit").unwrap();
    assert_eq!(audit.status, Grade::Critical);
    assert!(audit.reason.contains("seq 123"), "{}", audit.reason);
    // Reported again by every later check, not forgotten once seen.
    assert_eq!(status(&store.health().unwrap(), "audit"), Grade::Critical);
    let deep = store.health_deep().unwrap();
    assert_eq!(status(&deep, "integrity"), Grade::Critical);
}

#[test]
fn requests_are_graded_over_the_window_by_error_rate_and_p95() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    let log = |level: Level, ms: u64| {
        store
            .logs()
            .append(
                LogRecord::new(level, "GET /x")
                    .endpoint("/x")
                    .duration_us(ms * 1000),
                Durability::Buffered,
            )
            .unwrap();
    };
    // Ten minutes ago: all errors, all slow. Outside the default 5-minute window.
    for _ in 0..50 {
        log(Level::Error, 9_000);
    }
    clock.advance(600 * SEC);
    assert_eq!(status(&store.health().unwrap(), "requests"), Grade::Healthy);
    for i in 0..100 {
        log(if i < 4 { Level::Error } else { Level::Info }, 10);
    }
    let r = store.health().unwrap();
    let c = r.component("requests").unwrap();
    assert_eq!(c.status, Grade::Healthy, "{c:?}");
    assert_eq!(c.value, Some(0.04));
    // 6 errors in 102 (5.9%): degraded.
    log(Level::Error, 10);
    log(Level::Fatal, 10);
    assert_eq!(
        status(&store.health().unwrap(), "requests"),
        Grade::Degraded
    );
    // p95 over 2 s: critical, whatever the error rate.
    for _ in 0..20 {
        log(Level::Info, 2_500);
    }
    let r = store.health().unwrap();
    assert_eq!(
        status(&r, "requests"),
        Grade::Critical,
        "{:?}",
        r.component("requests")
    );
    assert_eq!(r.grade, Grade::Critical);
}

#[test]
fn dead_letters_restore_points_file_size_and_disk_follow_their_thresholds() {
    let dir = TempDir::new("health-thresholds");
    let t = HealthThresholds {
        dead_letters_degraded: 2,
        dead_letters_critical: 4,
        file_size_limit: Some(1 << 40),
        ..HealthThresholds::default()
    };
    let store = Store::open(
        dir.file("h.hs"),
        Options::new()
            .health_thresholds(t.clone())
            .max_restore_points(2),
    )
    .unwrap();
    let dead = |n: u64| {
        for _ in 0..n {
            let d = NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(true);
            store.dead_letters().record(d, Durability::Durable).unwrap();
        }
    };
    dead(1);
    assert_eq!(
        status(&store.health().unwrap(), "dead_letters"),
        Grade::Healthy
    );
    dead(1);
    assert_eq!(
        status(&store.health().unwrap(), "dead_letters"),
        Grade::Degraded
    );
    dead(2);
    let r = store.health().unwrap();
    assert_eq!(status(&r, "dead_letters"), Grade::Critical);
    assert_eq!(r.component("dead_letters").unwrap().value, Some(4.0));

    store.restore_points().create("a").unwrap();
    assert_eq!(
        status(&store.health().unwrap(), "restore_points"),
        Grade::Healthy
    );
    store.restore_points().create("b").unwrap();
    assert_eq!(
        status(&store.health().unwrap(), "restore_points"),
        Grade::Degraded
    );

    // The thresholds are a setting: changed by an audited call, kept across reopens.
    let size = store
        .health()
        .unwrap()
        .component("file_size")
        .unwrap()
        .value
        .unwrap() as u64;
    let tight = HealthThresholds {
        file_size_limit: Some(size * 105 / 100),
        disk_free_degraded: u64::MAX,
        ..t
    };
    let change = store
        .settings()
        .by("ops")
        .set_health_thresholds(tight.clone())
        .unwrap();
    assert_eq!(
        store.audit().get(change.audit_seq).unwrap().action,
        "settings.set"
    );
    let r = store.health().unwrap();
    assert_eq!(
        status(&r, "file_size"),
        Grade::Degraded,
        "{:?}",
        r.component("file_size")
    );
    assert_eq!(status(&r, "disk_free"), Grade::Degraded);
    let path = store.path().to_path_buf();
    store.close().unwrap();
    let store = Store::open(&path, Options::new()).unwrap();
    assert_eq!(store.settings().get().health, tight);
    let over = HealthThresholds {
        file_size_limit: Some(1),
        disk_free_critical: u64::MAX,
        disk_free_degraded: u64::MAX,
        ..tight
    };
    store.settings().set_health_thresholds(over).unwrap();
    let r = store.health().unwrap();
    assert_eq!(
        (status(&r, "file_size"), status(&r, "disk_free")),
        (Grade::Critical, Grade::Critical)
    );
    // Thresholds that grade nothing sensibly are refused, and change nothing.
    let bad = HealthThresholds {
        p95_degraded: Duration::from_secs(10),
        p95_critical: Duration::from_secs(1),
        ..HealthThresholds::default()
    };
    assert!(matches!(
        store.settings().set_health_thresholds(bad),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(store.settings().get().health.file_size_limit, Some(1));
}

#[test]
fn backups_are_graded_by_age_against_the_schedule_and_by_success() {
    let dir = TempDir::new("health-backups");
    let clock = ManualClock::new(T0);
    let t = HealthThresholds {
        backups_expected: true,
        ..HealthThresholds::default()
    };
    let store = Store::open(
        dir.file("h.hs"),
        Options::new().clock(clock.clone()).health_thresholds(t),
    )
    .unwrap();
    assert_eq!(status(&store.health().unwrap(), "backups"), Grade::Degraded);
    store
        .backups()
        .run(
            BackupKind::Full,
            dir.file("backups"),
            &BackupOptions::default(),
        )
        .unwrap();
    assert_eq!(status(&store.health().unwrap(), "backups"), Grade::Healthy);
    clock.advance(25 * 3600 * SEC); // a full is due every 24 h
    assert_eq!(status(&store.health().unwrap(), "backups"), Grade::Degraded);
    clock.advance(24 * 3600 * SEC);
    let r = store.health().unwrap();
    assert_eq!(
        status(&r, "backups"),
        Grade::Critical,
        "{:?}",
        r.component("backups")
    );
    store
        .backups()
        .run(
            BackupKind::Full,
            dir.file("backups"),
            &BackupOptions::default(),
        )
        .unwrap();
    assert_eq!(status(&store.health().unwrap(), "backups"), Grade::Healthy);
}

#[test]
fn alerts_follow_grade_changes_and_only_changes() {
    let clock = ManualClock::new(T0);
    let t = HealthThresholds {
        dead_letters_degraded: 1,
        dead_letters_critical: 3,
        ..HealthThresholds::default()
    };
    let store = Store::in_memory(Options::new().clock(clock.clone()).health_thresholds(t)).unwrap();
    let with_alerts = HealthOptions::new().raise_alerts(true);
    let r = store.health_with(with_alerts).unwrap();
    assert_eq!((r.alerts_raised, r.alerts_resolved), (0, 0));
    let dead = || {
        let d = NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(true);
        store.dead_letters().record(d, Durability::Durable).unwrap();
    };
    dead();
    let r = store.health_with(with_alerts).unwrap();
    assert_eq!(r.alerts_raised, 1);
    let a = store
        .alerts()
        .open_by_key("hardstore", "dead_letters")
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.severity, a.source.as_str(), a.count),
        (Severity::Warning, "health", 1)
    );
    // The same grade again: nothing written.
    let audit = store.audit().size().unwrap();
    let r = store.health_with(with_alerts).unwrap();
    assert_eq!((r.alerts_raised, store.audit().size().unwrap()), (0, audit));
    // Worse: the same alert, raised again as critical.
    dead();
    dead();
    let r = store.health_with(with_alerts).unwrap();
    assert_eq!(r.alerts_raised, 1);
    let b = store
        .alerts()
        .open_by_key("hardstore", "dead_letters")
        .unwrap()
        .unwrap();
    assert_eq!((b.id, b.severity, b.count), (a.id, Severity::Critical, 2));
    // Recovered: resolved.
    store
        .settings()
        .set_health_thresholds(HealthThresholds {
            dead_letters_degraded: 10,
            dead_letters_critical: 30,
            ..HealthThresholds::default()
        })
        .unwrap();
    let r = store.health_with(with_alerts).unwrap();
    assert_eq!((r.grade, r.alerts_resolved), (Grade::Healthy, 1));
    assert!(store
        .alerts()
        .open_by_key("hardstore", "dead_letters")
        .unwrap()
        .is_none());
    let history = store
        .alerts()
        .list(&AlertQuery::new(AlertScope::Resolved).source("health"))
        .unwrap();
    assert_eq!(history.alerts.len(), 1);
    assert!(history.alerts[0].resolution.starts_with("healthy again"));
    // A check without raise_alerts never writes one.
    dead();
    dead();
    dead();
    dead();
    dead();
    dead();
    dead();
    dead();
    let r = store.health().unwrap();
    assert_eq!(r.grade, Grade::Degraded);
    assert_eq!(store.alerts().counts().unwrap().unresolved, 0);
}

#[test]
fn a_poisoned_store_is_critical_and_says_why() {
    let disk = SimDisk::default();
    let store = Store::open_with_backend(disk.clone(), Options::new()).unwrap();
    append(&store, 3);
    assert_eq!(store.health().unwrap().grade, Grade::Healthy);
    disk.set_fault(Some(Fault::Forever(1)));
    let failed = store.write(Durability::Durable, |tx| {
        tx.audit_append(&AuditEvent::new("acme", "x"))?;
        Ok(())
    });
    assert!(failed.is_err());
    assert!(store.is_poisoned());
    let r = store
        .health_with(HealthOptions::new().raise_alerts(true))
        .unwrap();
    assert_eq!(r.grade, Grade::Critical);
    assert_eq!(status(&r, "writer"), Grade::Critical);
    assert!(r.component("writer").unwrap().reason.contains("poisoned"));
    // Its alerts could not be written: reported as a component, not an error.
    let alerts = r.component("alerts").unwrap();
    assert_eq!(alerts.status, Grade::Critical);
    assert!(
        alerts.reason.contains("could not raise"),
        "{}",
        alerts.reason
    );
}
