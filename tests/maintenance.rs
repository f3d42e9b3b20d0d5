//! Maintenance: one run deletes what the store's settings say expired (idempotency keys,
//! dead letters, resolved alerts, backups past retention) and runs a due backup, in
//! bounded steps with a report; nothing inside its retention goes; the janitor runs it
//! on a thread and stops cleanly at close and at drop.

mod common;

use std::time::{Duration, Instant};

use common::TempDir;
use hardstore::alerts::{NewAlert, Severity};
use hardstore::dead_letters::NewDeadLetter;
use hardstore::maintenance::MaintenanceOptions;
use hardstore::{Begin, Durability, ManualClock, Options, Retention, Store};

const T0: u64 = 1_796_290_312_123_456;
const SEC: u64 = 1_000_000;
const DAY: u64 = 86_400 * SEC;

fn opts(clock: &ManualClock) -> Options {
    Options::new()
        .clock(clock.clone())
        .idempotency_ttl(Duration::from_secs(3600))
        .dead_letter_purge_after(Duration::from_secs(2 * 86_400))
        .alert_retention(Duration::from_secs(7 * 86_400))
}

/// `n` completed idempotency keys, `n` dead dead letters and `n` resolved alerts, all
/// made now.
fn fill(store: &Store, tag: &str, n: u64) {
    for i in 0..n {
        let key = format!("{tag}-{i}");
        match store
            .idempotency()
            .begin("acme", &key, b"req", Duration::from_secs(30))
            .unwrap()
        {
            Begin::Started(t) => store.idempotency().complete(&t, Some(200), b"ok").unwrap(),
            other => panic!("{other:?}"),
        }
        let d = NewDeadLetter::new("acme", "email", b"x".to_vec()).permanent(true);
        store.dead_letters().record(d, Durability::Durable).unwrap();
        let a = NewAlert::new("acme", "app", key, Severity::Info, "");
        let id = store.alerts().raise(a, Durability::Durable).unwrap().id;
        store.alerts().resolve(id, "bot", "").unwrap();
    }
}

#[test]
fn a_run_deletes_only_what_expired_and_says_how_much() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(opts(&clock)).unwrap();
    fill(&store, "old", 5);
    clock.advance(3 * DAY); // keys (1 h) and dead letters (2 days) expired; alerts (7 days) not
    let r = store.maintenance(&MaintenanceOptions::new()).unwrap();
    assert_eq!(
        (
            r.idempotency_expired,
            r.dead_letters_purged,
            r.alerts_purged
        ),
        (5, 5, 0),
        "{r:?}"
    );
    assert!(!r.more_due && r.errors.is_empty() && r.backup.is_none());
    fill(&store, "young", 2);
    assert!(store
        .idempotency()
        .get("acme", "young-0")
        .unwrap()
        .is_some());
    assert!(store.idempotency().get("acme", "old-0").unwrap().is_none());
    assert_eq!(store.dead_letters().counts().unwrap().dead, 2);
    clock.advance(5 * DAY); // the old alerts are 8 days resolved now, the young ones 5
    let r = store.maintenance(&MaintenanceOptions::new()).unwrap();
    assert_eq!(
        (
            r.alerts_purged,
            r.idempotency_expired,
            r.dead_letters_purged
        ),
        (5, 2, 2)
    );
    assert_eq!(store.alerts().counts().unwrap().resolved, 2);
    // Nothing more is due.
    assert_eq!(
        store.maintenance(&MaintenanceOptions::new()).unwrap(),
        Default::default()
    );
}

#[test]
fn each_task_stops_at_its_step_and_says_more_is_due() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(opts(&clock)).unwrap();
    fill(&store, "k", 7);
    clock.advance(30 * DAY);
    let step = MaintenanceOptions::new().step(3);
    let mut total = (0, 0, 0);
    let mut runs = 0;
    loop {
        let r = store.maintenance(&step).unwrap();
        assert!(r.idempotency_expired <= 3 && r.dead_letters_purged <= 3 && r.alerts_purged <= 3);
        total.0 += r.idempotency_expired;
        total.1 += r.dead_letters_purged;
        total.2 += r.alerts_purged;
        runs += 1;
        if !r.more_due {
            break;
        }
        assert!(runs < 10);
    }
    assert_eq!(total, (7, 7, 7));
    assert_eq!(runs, 3);
}

#[test]
fn a_run_takes_the_due_backup_and_applies_the_retention() {
    let dir = TempDir::new("maint-backups");
    let clock = ManualClock::new(T0);
    let store = Store::open(
        dir.file("m.hs"),
        opts(&clock).backup_retention(Retention {
            max_age: None,
            keep_fulls: Some(2),
        }),
    )
    .unwrap();
    let with = MaintenanceOptions::new().backups_into(dir.file("backups"));
    let r = store.maintenance(&with).unwrap();
    let first = r.backup.expect("a full backup is due on a store with none");
    assert_eq!(first.kind, hardstore::BackupKind::Full);
    // Not due again an hour later (the schedule's shortest interval).
    clock.advance(30 * 60 * SEC);
    assert!(store.maintenance(&with).unwrap().backup.is_none());
    // Without a folder, none is run.
    clock.advance(2 * DAY);
    assert!(store
        .maintenance(&MaintenanceOptions::new())
        .unwrap()
        .backup
        .is_none());
    for _ in 0..3 {
        let r = store.maintenance(&with).unwrap();
        assert_eq!(r.backup.unwrap().kind, hardstore::BackupKind::Full);
        clock.advance(2 * DAY);
    }
    // Four fulls taken, the retention keeps two: pruned as they came.
    let fulls = store
        .backups()
        .list()
        .unwrap()
        .into_iter()
        .filter(|b| b.kind == hardstore::BackupKind::Full)
        .count();
    assert_eq!(fulls, 2);
    assert!(
        !first.path().exists(),
        "the first full's file went with its row"
    );
    store.close().unwrap();
}

#[test]
fn the_alert_retention_is_a_setting() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(opts(&clock)).unwrap();
    assert_eq!(
        store.settings().get().alert_retention,
        Duration::from_secs(7 * 86_400)
    );
    let c = store
        .settings()
        .by("ops")
        .set_alert_retention(Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        store.audit().get(c.audit_seq).unwrap().action,
        "settings.set"
    );
    fill(&store, "a", 2);
    clock.advance(61 * SEC);
    assert_eq!(
        store
            .maintenance(&MaintenanceOptions::new())
            .unwrap()
            .alerts_purged,
        2
    );
}

fn wait_for(mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_janitor_runs_on_its_interval_and_stops_at_close_and_at_drop() {
    let dir = TempDir::new("maint-janitor");
    let path = dir.file("j.hs");
    let clock = ManualClock::new(T0);
    let store = Store::open(&path, opts(&clock).janitor(Duration::from_millis(10))).unwrap();
    fill(&store, "k", 4);
    clock.advance(3 * DAY);
    wait_for(|| store.dead_letters().counts().unwrap().dead == 0);
    wait_for(|| store.janitor_status().unwrap().runs >= 2);
    let st = store.janitor_status().unwrap();
    assert!(st.last_error.is_none() && st.last.is_some());
    store.close().unwrap();

    // Dropped without close: the janitor lets the file go (a reopen is not refused).
    let store = Store::open(&path, opts(&clock).janitor(Duration::from_millis(5))).unwrap();
    wait_for(|| store.janitor_status().unwrap().runs >= 1);
    drop(store);
    let store = Store::open(&path, Options::new()).unwrap();
    assert!(store.janitor_status().is_none());
    store.close().unwrap();
    assert!(Store::open(&path, Options::new().janitor(Duration::ZERO)).is_err());
}
