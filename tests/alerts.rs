//! Alerts: dedup of repeats, acknowledge and resolve, reopening after a resolve, lists
//! with filters and cursors, purge with confirmation, an audit entry for every change,
//! atomicity with the rest of a write, restore points, and bad input refused unchanged.

mod common;

use std::time::Duration;

use common::TempDir;
use hardstore::alerts::{AlertQuery, AlertScope, AlertState, NewAlert, Severity, MAX_ALERT_PAGE};
use hardstore::{AuditQuery, Durability, Error, ManualClock, Options, Store};

const T0: u64 = 1_700_000_000_000_000;
const SEC: u64 = 1_000_000;

fn open_at(clock: &ManualClock) -> Store {
    Store::in_memory(Options::new().clock(clock.clone())).unwrap()
}

fn alert(tenant: &str, key: &str, sev: Severity) -> NewAlert {
    NewAlert::new(
        tenant,
        "health",
        key,
        sev,
        format!("{key} is {}", sev.as_str()),
    )
}

/// The actions of every audit entry of `tenant`, oldest first.
fn audited(store: &Store, tenant: &str) -> Vec<String> {
    let page = store
        .audit()
        .query(&AuditQuery::new(tenant).limit(1000))
        .unwrap();
    page.entries.into_iter().map(|e| e.action).collect()
}

#[test]
fn a_repeat_counts_on_the_open_alert_and_a_raise_after_resolve_opens_a_new_one() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let a = store
        .alerts()
        .raise(
            alert("acme", "disk", Severity::Warning),
            Durability::Durable,
        )
        .unwrap();
    assert!(a.created);
    assert_eq!((a.count, a.state), (1, AlertState::Open));
    clock.set(T0 + 5 * SEC);
    let b = store
        .alerts()
        .raise(
            alert("acme", "disk", Severity::Critical),
            Durability::Durable,
        )
        .unwrap();
    assert_eq!((b.id, b.count, b.created), (a.id, 2, false));
    // The same key in another tenant is another alert.
    let other = store
        .alerts()
        .raise(alert("globex", "disk", Severity::Info), Durability::Durable)
        .unwrap();
    assert_ne!(other.id, a.id);
    let got = store.alerts().get(a.id).unwrap();
    assert_eq!(
        got.severity,
        Severity::Critical,
        "the latest raise's severity"
    );
    assert_eq!(got.message, "disk is critical");
    assert_eq!((got.first_seen, got.last_seen), (T0, T0 + 5 * SEC));

    clock.set(T0 + 6 * SEC);
    let acked = store.alerts().acknowledge(a.id, "oncall:ana").unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.acknowledged_at, Some(T0 + 6 * SEC));
    // A repeat while acknowledged still counts on it, and it stays acknowledged.
    let c = store
        .alerts()
        .raise(
            alert("acme", "disk", Severity::Critical),
            Durability::Durable,
        )
        .unwrap();
    assert_eq!(
        (c.id, c.count, c.state),
        (a.id, 3, AlertState::Acknowledged)
    );
    // Acknowledging twice changes nothing.
    assert_eq!(store.alerts().acknowledge(a.id, "someone:else").unwrap(), {
        let mut x = acked.clone();
        x.count = 3;
        x.last_seen = T0 + 6 * SEC;
        x
    });

    clock.set(T0 + 7 * SEC);
    let r = store
        .alerts()
        .resolve(a.id, "oncall:ana", "freed 20 GB")
        .unwrap();
    assert_eq!(r.state, AlertState::Resolved);
    assert_eq!(
        (r.resolved_at, r.resolved_by.as_str(), r.resolution.as_str()),
        (Some(T0 + 7 * SEC), "oncall:ana", "freed 20 GB")
    );
    assert_eq!(store.alerts().open_by_key("acme", "disk").unwrap(), None);
    // Resolving twice changes nothing; acknowledging a resolved alert is refused.
    assert_eq!(store.alerts().resolve(a.id, "x", "y").unwrap(), r);
    assert!(matches!(
        store.alerts().acknowledge(a.id, "x"),
        Err(Error::InvalidArgument(_))
    ));
    let again = store
        .alerts()
        .raise(
            alert("acme", "disk", Severity::Warning),
            Durability::Durable,
        )
        .unwrap();
    assert!(again.created);
    assert!(again.id > other.id, "ids are never reused");
    assert_eq!(
        store.alerts().get(a.id).unwrap().state,
        AlertState::Resolved
    );

    // Every change is audited, in order; no-op calls are not.
    assert_eq!(
        audited(&store, "acme"),
        [
            "alert.raise",
            "alert.raise",
            "alert.acknowledge",
            "alert.raise",
            "alert.resolve",
            "alert.raise"
        ]
    );
    let entries = store
        .audit()
        .query(&AuditQuery::new("acme").limit(10))
        .unwrap()
        .entries;
    assert_eq!(entries[1].outcome, "repeated");
    assert_eq!(entries[1].resource, format!("alert/{}", a.id));
    assert!(entries[1]
        .details
        .contains(&("count".to_string(), "2".to_string())));
    assert_eq!(entries[2].actor, "oncall:ana");
    store.audit().verify().unwrap();

    let counts = store.alerts().counts().unwrap();
    assert_eq!((counts.unresolved, counts.resolved), (2, 1));
}

#[test]
fn resolve_by_key_resolves_only_the_open_alert_of_that_tenant() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let a = store
        .alerts()
        .raise(
            alert("acme", "backup", Severity::Critical),
            Durability::Durable,
        )
        .unwrap();
    let b = store
        .alerts()
        .raise(
            alert("globex", "backup", Severity::Critical),
            Durability::Durable,
        )
        .unwrap();
    let r = store
        .alerts()
        .resolve_key("acme", "backup", "health", "a backup succeeded")
        .unwrap()
        .unwrap();
    assert_eq!((r.id, r.state), (a.id, AlertState::Resolved));
    assert_eq!(
        store
            .alerts()
            .resolve_key("acme", "backup", "health", "")
            .unwrap(),
        None
    );
    assert_eq!(store.alerts().get(b.id).unwrap().state, AlertState::Open);
}

#[test]
fn lists_walk_newest_first_with_filters_and_cursors() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let mut ids = Vec::new();
    for i in 0..250u64 {
        let sev = [Severity::Info, Severity::Warning, Severity::Critical][(i % 3) as usize];
        let tenant = ["acme", "globex"][(i % 2) as usize];
        let r = store
            .alerts()
            .raise(alert(tenant, &format!("k{i}"), sev), Durability::Buffered)
            .unwrap();
        ids.push(r.id);
    }
    for id in ids.iter().step_by(5) {
        store.alerts().resolve(*id, "bot", "").unwrap();
    }
    let walk = |q: AlertQuery| -> Vec<u64> {
        let mut out = Vec::new();
        let mut q = q.limit(7);
        loop {
            let page = store.alerts().list(&q).unwrap();
            assert!(page.alerts.len() <= 7);
            out.extend(page.alerts.iter().map(|a| a.id));
            match page.next {
                Some(c) => {
                    let c = hardstore::alerts::AlertCursor::from_bytes(&c.to_bytes()).unwrap();
                    q = q.after(c);
                }
                None => return out,
            }
        }
    };
    let all = store
        .alerts()
        .list(&AlertQuery::new(AlertScope::All))
        .unwrap();
    let model = |f: &dyn Fn(&hardstore::alerts::Alert) -> bool| -> Vec<u64> {
        let mut v: Vec<u64> = ids
            .iter()
            .map(|id| store.alerts().get(*id).unwrap())
            .filter(|a| f(a))
            .map(|a| a.id)
            .collect();
        v.reverse();
        v
    };
    assert_eq!(all.alerts.len(), 100, "the default page is 100");
    assert_eq!(walk(AlertQuery::new(AlertScope::All)), model(&|_| true));
    assert_eq!(
        walk(AlertQuery::new(AlertScope::Open)),
        model(&|a| a.state != AlertState::Resolved)
    );
    assert_eq!(
        walk(AlertQuery::new(AlertScope::Resolved).tenant("acme")),
        model(&|a| a.state == AlertState::Resolved && a.tenant == "acme")
    );
    assert_eq!(
        walk(
            AlertQuery::new(AlertScope::All)
                .min_severity(Severity::Critical)
                .source("health")
        ),
        model(&|a| a.severity == Severity::Critical)
    );
    assert!(walk(AlertQuery::new(AlertScope::All).source("nobody")).is_empty());
    for bad in [0, MAX_ALERT_PAGE + 1] {
        assert!(matches!(
            store
                .alerts()
                .list(&AlertQuery::new(AlertScope::All).limit(bad)),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert!(hardstore::alerts::AlertCursor::from_bytes(&[1, 2, 3]).is_err());
}

#[test]
fn a_purge_says_how_many_it_deletes_and_asks_for_that_count() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let mut ids = Vec::new();
    for i in 0..1500u64 {
        let r = store
            .alerts()
            .raise(
                alert("acme", &format!("k{i}"), Severity::Info),
                Durability::Buffered,
            )
            .unwrap();
        ids.push(r.id);
    }
    for id in &ids[..1200] {
        store.alerts().resolve(*id, "bot", "").unwrap();
    }
    clock.set(T0 + 100 * SEC);
    for id in &ids[1200..1300] {
        store.alerts().resolve(*id, "bot", "").unwrap();
    }
    clock.set(T0 + 130 * SEC);
    let keep = Duration::from_secs(60);
    assert_eq!(store.alerts().purgeable(keep).unwrap(), 1200);
    let before = store.audit().size().unwrap();
    match store.alerts().purge_resolved(keep, 1199) {
        Err(Error::ConfirmationRequired { deletes, .. }) => assert_eq!(deletes, 1200),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.audit().size().unwrap(),
        before,
        "a refused purge changes nothing"
    );
    assert_eq!(store.alerts().counts().unwrap().resolved, 1300);
    assert_eq!(store.alerts().purge_resolved(keep, 1200).unwrap(), 1200);
    let counts = store.alerts().counts().unwrap();
    assert_eq!((counts.unresolved, counts.resolved), (200, 100));
    assert!(matches!(
        store.alerts().get(ids[0]),
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        store.alerts().get(ids[1250]).unwrap().state,
        AlertState::Resolved
    );
    // Two transactions (1000 + 200), each audited.
    assert_eq!(store.audit().size().unwrap(), before + 2);
    assert_eq!(audited(&store, "hardstore"), ["alert.purge", "alert.purge"]);
    assert_eq!(store.alerts().purge_resolved(keep, 0).unwrap(), 0);
    // Older than the clock: nothing is old enough.
    assert_eq!(
        store
            .alerts()
            .purgeable(Duration::from_secs(u64::MAX))
            .unwrap(),
        0
    );
}

#[test]
fn a_raise_commits_with_the_rest_of_its_write_or_not_at_all() {
    let store = Store::in_memory(Options::new()).unwrap();
    let r = store.write(Durability::Durable, |tx| {
        tx.kv_put("app", b"order/1", b"paid")?;
        tx.alert_raise(&alert("acme", "order-1", Severity::Warning))?;
        Err::<(), _>(Error::InvalidArgument("the app changed its mind".into()))
    });
    assert!(r.is_err());
    assert_eq!(store.alerts().counts().unwrap().unresolved, 0);
    assert_eq!(store.audit().size().unwrap(), 0);
    let (raised, seq) = store
        .write(Durability::Durable, |tx| {
            tx.kv_put("app", b"order/1", b"paid")?;
            let r = tx.alert_raise(&alert("acme", "order-1", Severity::Warning))?;
            let c = tx.alert_acknowledge(r.id, "app")?;
            assert_eq!(c.state, AlertState::Acknowledged);
            Ok((
                r,
                tx.audit_append(&hardstore::AuditEvent::new("acme", "order.paid"))?
                    .seq,
            ))
        })
        .unwrap();
    assert_eq!(
        seq, 2,
        "raise and acknowledge were audited before the app's entry"
    );
    assert_eq!(
        store.alerts().get(raised.id).unwrap().state,
        AlertState::Acknowledged
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let store = Store::in_memory(Options::new()).unwrap();
    let long = |n: usize| "x".repeat(n);
    let cases = [
        NewAlert::new("", "s", "k", Severity::Info, ""),
        NewAlert::new("t", "", "k", Severity::Info, ""),
        NewAlert::new("t", "s", "", Severity::Info, ""),
        NewAlert::new(long(129), "s", "k", Severity::Info, ""),
        NewAlert::new("t", long(129), "k", Severity::Info, ""),
        NewAlert::new("t", "s", long(257), Severity::Info, ""),
        NewAlert::new("t", "s", "k", Severity::Info, long(4097)),
    ];
    for c in cases {
        let e = store
            .alerts()
            .raise(c.clone(), Durability::Durable)
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument(_) | Error::TooLong { .. }),
            "{c:?}: {e:?}"
        );
    }
    assert!(matches!(store.alerts().get(0), Err(Error::NotFound(_))));
    assert!(matches!(
        store.alerts().acknowledge(0, "x"),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.alerts().resolve(0, &long(257), ""),
        Err(Error::TooLong { field: "by", .. })
    ));
    assert!(matches!(
        store.alerts().resolve(0, "x", &long(4097)),
        Err(Error::TooLong {
            field: "resolution",
            ..
        })
    ));
    assert!(matches!(
        Severity::parse("fatal"),
        Err(Error::InvalidArgument(_))
    ));
    // The longest allowed fields fit, audit entry included.
    store
        .alerts()
        .raise(
            NewAlert::new(
                long(128),
                long(128),
                long(256),
                Severity::Critical,
                long(4096),
            ),
            Durability::Durable,
        )
        .unwrap();
    assert_eq!(store.audit().size().unwrap(), 1);
    assert_eq!(store.alerts().counts().unwrap().unresolved, 1);
}

#[test]
fn alerts_survive_a_reopen_and_a_restore_point_rolls_them_back() {
    let dir = TempDir::new("alerts-reopen");
    let path = dir.file("a.hardstore");
    let id = {
        let store = Store::open(&path, Options::new()).unwrap();
        let r = store
            .alerts()
            .raise(
                alert("acme", "disk", Severity::Critical),
                Durability::Durable,
            )
            .unwrap();
        store.alerts().acknowledge(r.id, "ana").unwrap();
        r.id
    }; // dropped without close: the redo log carries it
    let store = Store::open(&path, Options::new()).unwrap();
    let a = store.alerts().get(id).unwrap();
    assert_eq!(
        (a.state, a.acknowledged_by.as_str()),
        (AlertState::Acknowledged, "ana")
    );
    let point = store.restore_points().create("before resolve").unwrap();
    store.alerts().resolve(id, "ana", "done").unwrap();
    let next = store
        .alerts()
        .raise(alert("acme", "disk", Severity::Info), Durability::Durable)
        .unwrap();
    store.restore_points().restore(point.id, "ops").unwrap();
    assert_eq!(
        store.alerts().get(id).unwrap().state,
        AlertState::Acknowledged
    );
    assert!(matches!(
        store.alerts().get(next.id),
        Err(Error::NotFound(_))
    ));
    // The next id only grows: no id is handed out twice, even across a restore.
    let after = store
        .alerts()
        .raise(alert("acme", "cpu", Severity::Info), Durability::Durable)
        .unwrap();
    assert!(after.id > next.id);
    // The dedup row came back with the alert: a repeat counts on it.
    let rep = store
        .alerts()
        .raise(alert("acme", "disk", Severity::Info), Durability::Durable)
        .unwrap();
    assert_eq!((rep.id, rep.count), (id, 2));
    store.close().unwrap();
}
