//! Full backups: taken while writers run, verified end to end, restored into a new store
//! whose every area equals the snapshot and whose audit log verifies with the same root.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hardstore::dead_letters::NewDeadLetter;
use hardstore::logs::{Level, LogRecord};
use hardstore::{backup, Begin, Durability, Error, Options, Store};

fn fill(store: &Store, n: u64) -> u64 {
    for i in 0..n {
        store
            .audit()
            .append(common::event(i), Durability::Buffered)
            .unwrap();
        store
            .logs()
            .append(
                LogRecord::new(Level::Info, format!("line {i}")),
                Durability::Buffered,
            )
            .unwrap();
        store
            .kv_put("app", &i.to_le_bytes(), b"value", Durability::Buffered)
            .unwrap();
    }
    let Begin::Started(t) = store
        .idempotency()
        .begin("acme", "order-1", b"POST /orders", Duration::from_secs(60))
        .unwrap()
    else {
        panic!("a fresh key starts")
    };
    store
        .idempotency()
        .complete(&t, Some(201), b"created")
        .unwrap();
    store
        .dead_letters()
        .record(
            NewDeadLetter::new("acme", "email", b"payload".to_vec()),
            Durability::Durable,
        )
        .unwrap()
}

#[test]
fn a_full_backup_taken_under_writes_restores_every_area() {
    let dir = common::TempDir::new("backup-full");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    let dlq_id = fill(&store, 200);
    // A writer keeps going while the backup runs: the snapshot is one consistent state.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                store
                    .audit()
                    .append(common::event(1000 + i), Durability::Buffered)
                    .unwrap();
                i += 1;
            }
        })
    };
    let info = store.backups().full(dir.file("full.hsb")).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(info.audit_size >= 200);
    assert_eq!(info.store_id, store.id());
    assert_eq!(
        store.audit().root(info.audit_size).unwrap(),
        info.audit_root
    );
    assert!(!dir.file("full.hsb.partial").exists());
    assert_eq!(backup::verify(dir.file("full.hsb")).unwrap(), info);

    let restored =
        backup::restore(dir.file("full.hsb"), dir.file("new.hs"), &Options::new()).unwrap();
    assert_eq!(restored, info);
    let copy = Store::open(dir.file("new.hs"), Options::new()).unwrap();
    assert_ne!(copy.id(), store.id(), "a restored store is another store");
    assert_eq!(copy.audit().size().unwrap(), info.audit_size);
    let report = copy.audit().verify().unwrap();
    assert_eq!(report.root, info.audit_root);
    assert_eq!(
        copy.kv_get("app", &7u64.to_le_bytes()).unwrap().as_deref(),
        Some(&b"value"[..])
    );
    assert_eq!(copy.logs().len().unwrap(), store.logs().len().unwrap());
    match copy
        .idempotency()
        .begin("acme", "order-1", b"POST /orders", Duration::from_secs(60))
        .unwrap()
    {
        Begin::Replay(r) => assert_eq!(r.body, b"created"),
        other => panic!("the completed key replays, got {other:?}"),
    }
    assert_eq!(copy.dead_letters().get(dlq_id).unwrap().payload, b"payload");
    // The restored store takes new writes.
    copy.kv_put("app", b"after", b"1", Durability::Durable)
        .unwrap();
}

#[test]
fn a_damaged_backup_is_refused_and_restores_nothing() {
    let dir = common::TempDir::new("backup-bad");
    let store = Store::open(dir.file("src.hs"), Options::new()).unwrap();
    fill(&store, 20);
    let path = dir.file("full.hsb");
    store.backups().full(&path).unwrap();
    assert!(matches!(
        store.backups().full(&path),
        Err(Error::InvalidArgument(_))
    ));
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(backup::verify(&path), Err(Error::Corrupted(_))));
    let out = dir.file("new.hs");
    assert!(matches!(
        backup::restore(&path, &out, &Options::new()),
        Err(Error::Corrupted(_))
    ));
    assert!(!out.exists());
    assert!(!dir.file("new.hs.partial").exists());
    bytes[mid] ^= 0x10;
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = backup::verify(&path).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}
