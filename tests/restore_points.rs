//! Restore points: every mutable area round-trips, the audit log and the log ring keep
//! growing across a restore, the cap holds, verify works, points survive a reopen.

mod common;

use std::time::Duration;

use hardstore::dead_letters::NewDeadLetter;
use hardstore::logs::{Level, LogRecord};
use hardstore::{Begin, Durability, Error, Options, Store};

const LEASE: Duration = Duration::from_secs(60);

fn complete(store: &Store, key: &str, body: &[u8]) {
    let Begin::Started(t) = store
        .idempotency()
        .begin("acme", key, key.as_bytes(), LEASE)
        .unwrap()
    else {
        panic!("fresh key")
    };
    store.idempotency().complete(&t, Some(201), body).unwrap();
}

#[test]
fn every_mutable_area_round_trips_and_the_audit_log_keeps_growing() {
    let dir = common::TempDir::new("rp");
    let path = dir.file("rp.hs");
    let store = Store::open(&path, Options::new()).unwrap();
    let dl = store.dead_letters();
    for i in 0..40 {
        common::audit_and_log(&store, i, Level::Info, format!("before {i}"));
    }
    store
        .kv_put("app", b"balance", b"100", Durability::Durable)
        .unwrap();
    store
        .kv_put("app", b"keep", b"k", Durability::Durable)
        .unwrap();
    complete(&store, "k-before", b"old answer");
    let kept = dl
        .record(
            NewDeadLetter::new("acme", "email", b"one".to_vec()),
            Durability::Durable,
        )
        .unwrap();
    let old_size = store.audit().size().unwrap();
    let old_root = store.audit().root(old_size).unwrap();

    let point = store.restore_points().create("before migration").unwrap();
    assert_eq!((point.audit_size, point.audit_root), (old_size, old_root));
    store.restore_points().verify(point.id).unwrap();

    // The risky change, in every area, with audit and log entries (200 logs wrap chunks).
    store
        .kv_put("app", b"balance", b"0", Durability::Durable)
        .unwrap();
    store
        .kv_delete("app", b"keep", Durability::Durable)
        .unwrap();
    store
        .kv_put("app", b"new", b"n", Durability::Durable)
        .unwrap();
    complete(&store, "k-after", b"new answer");
    let claim = dl.claim_due(1, LEASE).unwrap().pop().unwrap();
    dl.ack(&claim).unwrap();
    let added = dl
        .record(
            NewDeadLetter::new("acme", "webhook", b"two".to_vec()),
            Durability::Durable,
        )
        .unwrap();
    for i in 40..90 {
        store
            .audit()
            .append(common::event(i), Durability::Durable)
            .unwrap();
    }
    for i in 0..200 {
        store
            .logs()
            .append(
                LogRecord::new(Level::Warn, format!("after {i}")),
                Durability::Buffered,
            )
            .unwrap();
    }
    let Begin::Started(in_flight) = store
        .idempotency()
        .begin("acme", "k-flying", b"k-flying", LEASE)
        .unwrap()
    else {
        panic!("fresh key")
    };
    store.flush().unwrap();
    let size_before_restore = store.audit().size().unwrap();
    let logs_before = store.logs().range().unwrap();

    let receipt = store
        .restore_points()
        .restore(point.id, "ops@example")
        .unwrap();
    assert_eq!(receipt.audit_seq, size_before_restore);

    // Mutable state is back.
    assert_eq!(
        store.kv_get("app", b"balance").unwrap(),
        Some(b"100".to_vec())
    );
    assert_eq!(store.kv_get("app", b"keep").unwrap(), Some(b"k".to_vec()));
    assert_eq!(store.kv_get("app", b"new").unwrap(), None);
    let idem = store.idempotency();
    assert!(matches!(
        idem.begin("acme", "k-before", b"k-before", LEASE).unwrap(),
        Begin::Replay(r) if r.body == b"old answer"
    ));
    assert!(matches!(
        idem.begin("acme", "k-after", b"k-after", LEASE).unwrap(),
        Begin::Started(_)
    ));
    // A token from before the restore is fenced off.
    assert!(matches!(
        idem.complete(&in_flight, None, b"late"),
        Err(Error::Fenced(_))
    ));
    assert_eq!(
        dl.get(kept).unwrap().state,
        hardstore::dead_letters::DlqState::Pending
    );
    assert!(matches!(dl.get(added), Err(Error::NotFound(_))));
    assert!(matches!(dl.ack(&claim), Err(Error::Fenced(_))));
    let counts = dl.counts().unwrap();
    assert_eq!((counts.pending, counts.done), (1, 0));
    // A new dead letter never reuses an id handed out after the point.
    let fresh = dl
        .record(
            NewDeadLetter::new("acme", "email", b"three".to_vec()),
            Durability::Durable,
        )
        .unwrap();
    assert!(fresh > added);

    // The audit log kept everything and grew by the restore entry; it verifies, and a
    // consistency proof from the point's checkpoint still holds.
    let audit = store.audit();
    let size = audit.size().unwrap();
    assert_eq!(size, size_before_restore + 1);
    let entry = audit.get(receipt.audit_seq).unwrap();
    assert_eq!(entry.action, "restore_point.restore");
    assert_eq!(entry.resource, format!("restore_point/{}", point.id));
    let report = audit.verify().unwrap();
    assert_eq!((report.size, report.first_bad_seq), (size, None));
    let proof = audit.consistency_proof(old_size, size).unwrap();
    proof.verify(&old_root, &audit.root(size).unwrap()).unwrap();
    // The log ring kept every entry written since the point.
    assert_eq!(store.logs().range().unwrap(), logs_before);
    assert_eq!(store.logs().len().unwrap(), 240);

    // The point survives (and verifies) across a reopen; restoring again works.
    store.close().unwrap();
    let store = Store::open(&path, Options::new()).unwrap();
    let points = store.restore_points().list().unwrap();
    assert_eq!(points, vec![point.clone()]);
    store.restore_points().verify(point.id).unwrap();
    store
        .kv_put("app", b"balance", b"7", Durability::Durable)
        .unwrap();
    store.restore_points().restore(point.id, "").unwrap();
    assert_eq!(
        store.kv_get("app", b"balance").unwrap(),
        Some(b"100".to_vec())
    );
    assert_eq!(store.audit().verify().unwrap().first_bad_seq, None);
    assert!(store.restore_points().delete(point.id).unwrap());
    assert!(!store.restore_points().delete(point.id).unwrap());
    assert!(store.restore_points().list().unwrap().is_empty());
    assert!(matches!(
        store.restore_points().restore(point.id, ""),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn later_points_go_away_with_a_restore_and_the_cap_holds() {
    let store = Store::in_memory(Options::new().max_restore_points(3)).unwrap();
    let rp = store.restore_points();
    let a = rp.create("a").unwrap();
    store.kv_put("ns", b"x", b"1", Durability::Durable).unwrap();
    let b = rp.create("b").unwrap();
    store.kv_put("ns", b"x", b"2", Durability::Durable).unwrap();
    let c = rp.create("c").unwrap();
    assert!(a.id < b.id && b.id < c.id);
    assert!(matches!(
        rp.create("d"),
        Err(Error::LimitReached { max: 3, .. })
    ));
    assert_eq!(
        rp.list().unwrap().len(),
        3,
        "a refused create changes nothing"
    );
    rp.restore(b.id, "").unwrap();
    assert_eq!(store.kv_get("ns", b"x").unwrap(), Some(b"1".to_vec()));
    let ids: Vec<u64> = rp.list().unwrap().iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![a.id, b.id], "c was taken after b");
    rp.verify(a.id).unwrap();
    rp.verify(b.id).unwrap();
    assert!(rp.space().unwrap().allocated_bytes > 0);
    assert!(matches!(rp.create(""), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        rp.create(&"x".repeat(257)),
        Err(Error::TooLong { .. })
    ));
    assert!(matches!(rp.verify(999), Err(Error::NotFound(_))));
}

#[test]
fn export_writes_the_point_as_a_standalone_store() {
    let dir = common::TempDir::new("rp-export");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    for i in 0..30 {
        store
            .audit()
            .append(common::event(i), Durability::Buffered)
            .unwrap();
    }
    store
        .kv_put("app", b"v", b"1", Durability::Durable)
        .unwrap();
    complete(&store, "k1", b"answer");
    let point = store.restore_points().create("p").unwrap();
    store
        .kv_put("app", b"v", b"2", Durability::Durable)
        .unwrap();
    store
        .audit()
        .append(common::event(99), Durability::Durable)
        .unwrap();

    let out = dir.file("export.hs");
    let rows = store.restore_points().export(point.id, &out).unwrap();
    assert!(rows > 30);
    assert!(matches!(
        store.restore_points().export(point.id, &out),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        store.restore_points().export(999, dir.file("none.hs")),
        Err(Error::NotFound(_))
    ));
    // The source is untouched by the export.
    assert_eq!(store.kv_get("app", b"v").unwrap(), Some(b"2".to_vec()));
    assert_eq!(store.audit().size().unwrap(), 31);

    let copy = Store::open(&out, Options::new()).unwrap();
    assert_ne!(copy.id(), store.id());
    assert_eq!(copy.kv_get("app", b"v").unwrap(), Some(b"1".to_vec()));
    assert_eq!(copy.audit().size().unwrap(), point.audit_size);
    assert_eq!(
        copy.audit().root(point.audit_size).unwrap(),
        point.audit_root
    );
    assert_eq!(copy.audit().verify().unwrap().first_bad_seq, None);
    assert!(matches!(
        copy.idempotency().begin("acme", "k1", b"k1", LEASE).unwrap(),
        Begin::Replay(r) if r.body == b"answer"
    ));
    assert!(copy.restore_points().list().unwrap().is_empty());
    assert!(!dir.file("export.hs.partial").exists());
}

/// The digest a restore point records is kept up to date by every write (not scanned at
/// create): after every kind of change to the mutable areas, across a restore and a
/// reopen, a new point's digest must equal the one `verify` recomputes from its rows.
#[test]
fn the_kept_digest_matches_a_scan_after_every_kind_of_change() {
    let dir = common::TempDir::new("rp-digest");
    let path = dir.file("d.hs");
    let check = |store: &Store, stage: &str| {
        let p = store.restore_points().create(stage).unwrap();
        store
            .restore_points()
            .verify(p.id)
            .unwrap_or_else(|e| panic!("{stage}: {e}"));
        p
    };
    let store = Store::open(&path, Options::new()).unwrap();
    check(&store, "empty");
    for i in 0..50u64 {
        store
            .kv_put(
                "app",
                &(i % 10).to_le_bytes(),
                &i.to_le_bytes(),
                Durability::Buffered,
            )
            .unwrap();
    }
    store
        .kv_delete("app", &3u64.to_le_bytes(), Durability::Durable)
        .unwrap();
    let first = check(&store, "kv overwrites and deletes");
    complete(&store, "k1", b"one");
    let idem = store.idempotency();
    if let Begin::Started(t) = idem
        .begin("acme", "k2", b"req", Duration::from_secs(60))
        .unwrap()
    {
        idem.fail(&t, Some(500), b"no").unwrap();
    }
    if let Begin::Started(t) = idem
        .begin("acme", "k3", b"req", Duration::from_secs(60))
        .unwrap()
    {
        idem.release(&t).unwrap();
    }
    idem.purge_expired(100).unwrap();
    check(&store, "idempotency");
    let dlq = store.dead_letters();
    for i in 0..6u64 {
        dlq.record(
            NewDeadLetter::new("acme", "email", i.to_le_bytes().to_vec()).max_attempts(2),
            Durability::Durable,
        )
        .unwrap();
    }
    let claims = dlq.claim_due(6, Duration::from_secs(30)).unwrap();
    dlq.ack(&claims[0]).unwrap();
    dlq.fail(&claims[1], "boom", false).unwrap();
    dlq.fail(&claims[2], "again", true).unwrap();
    dlq.redrive(claims[1].id).unwrap();
    dlq.purge(None).unwrap();
    check(&store, "dead letters");
    store.restore_points().restore(first.id, "test").unwrap();
    check(&store, "after a restore");
    store
        .kv_put("app", b"after", b"1", Durability::Durable)
        .unwrap();
    store.close().unwrap();
    let store = Store::open(&path, Options::new()).unwrap();
    check(&store, "after a reopen");
    store.close().unwrap();
}
