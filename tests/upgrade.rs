//! A store file written by the previous release (format 2, committed under tests/data:
//! how it was made is in tests/data/README.md) opens, is upgraded in place to this
//! format, and loses nothing: every area reads as before, its two restore points (redb
//! savepoints in format 2) verify and restore to their state, and the ring keeps every
//! entry although these `Options` ask for a smaller one.

mod common;

use std::time::Duration;

use hardstore::dead_letters::DlqState;
use hardstore::{Begin, Options, Store, FORMAT_VERSION};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/format-v2.hardstore"
);
const LEASE: Duration = Duration::from_secs(60);

fn copy_of_fixture(dir: &common::TempDir) -> std::path::PathBuf {
    let path = dir.file("v2.hardstore");
    std::fs::copy(FIXTURE, &path).unwrap();
    path
}

fn kv(store: &Store, key: &str) -> Option<Vec<u8>> {
    store.kv_get("app", key.as_bytes()).unwrap()
}

#[test]
fn a_format_2_store_is_upgraded_and_keeps_everything() {
    assert_eq!(FORMAT_VERSION, 4);
    let dir = common::TempDir::new("upgrade");
    let path = copy_of_fixture(&dir);
    // Options unlike the app's: a smaller ring must not evict anything.
    let store = Store::open(&path, Options::new().log_capacity(10)).unwrap();
    let audit = store.audit();
    assert_eq!(audit.size().unwrap(), 42);
    assert_eq!(audit.verify().unwrap().first_bad_seq, None);
    // The ring held 150 (the app's capacity); it keeps them all.
    assert_eq!(store.logs().len().unwrap(), 150);
    assert!(store.settings().get().log_capacity >= 150);
    assert_eq!(kv(&store, "balance"), Some(b"100".to_vec()));
    assert_eq!(kv(&store, "new"), Some(b"n2".to_vec()));
    assert_eq!(kv(&store, "gone-later"), None);
    let counts = store.dead_letters().counts().unwrap();
    assert_eq!((counts.pending, counts.done), (1, 1));

    let points = store.restore_points().list().unwrap();
    let ids: Vec<u64> = points.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![1, 2]);
    for p in &points {
        store.restore_points().verify(p.id).unwrap();
    }
    // No redb savepoint is left pinning pages, and new points get new ids.
    assert_eq!(store.restore_points().space().unwrap().points, 2);
    store.close().unwrap();

    // Reopened: still the new format, nothing converted twice.
    // The fixture's clock: its idempotency keys (TTL 1 h) are still alive.
    let clock = hardstore::ManualClock::new(1_764_000_100_000_000);
    let store = Store::open(&path, Options::new().clock(clock)).unwrap();
    let rp = store.restore_points();
    rp.verify(1).unwrap();
    rp.verify(2).unwrap();
    // Point 2: balance 50, "new" = n, "gone-later" deleted, one dead letter acked.
    rp.restore(2, "upgrade-test").unwrap();
    assert_eq!(kv(&store, "balance"), Some(b"50".to_vec()));
    assert_eq!(kv(&store, "new"), Some(b"n".to_vec()));
    assert_eq!(kv(&store, "gone-later"), None);
    assert!(matches!(
        store
            .idempotency()
            .begin("acme", "req-2", b"body-2", LEASE)
            .unwrap(),
        Begin::Started(_)
    ));
    // Point 1: the state before every change.
    rp.restore(1, "upgrade-test").unwrap();
    assert_eq!(kv(&store, "balance"), Some(b"100".to_vec()));
    assert_eq!(kv(&store, "gone-later"), Some(b"x".to_vec()));
    assert_eq!(kv(&store, "new"), None);
    assert!(matches!(
        store
            .idempotency()
            .begin("acme", "req-1", b"body-1", LEASE)
            .unwrap(),
        Begin::Replay(r) if r.body == b"created"
    ));
    let page = store
        .dead_letters()
        .list(&hardstore::DlqQuery::new())
        .unwrap();
    assert!(page.items.iter().all(|d| d.state == DlqState::Pending));
    assert_eq!(page.items.len(), 2);
    let ids: Vec<u64> = rp.list().unwrap().iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![1], "point 2 was taken after point 1");
    let p3 = rp.create("after upgrade").unwrap();
    assert!(p3.id > 2, "ids are never reused: got {}", p3.id);
    // 2 restores appended an entry each; the log verifies.
    assert_eq!(store.audit().size().unwrap(), 44);
    assert_eq!(store.audit().verify().unwrap().first_bad_seq, None);
    store.close().unwrap();
}

#[test]
fn a_store_of_a_newer_format_is_refused_untouched() {
    let dir = common::TempDir::new("upgrade-newer");
    let path = copy_of_fixture(&dir);
    // Bump the stored format past this build's, through redb directly.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> =
                redb::TableDefinition::new("hardstore.meta");
            let mut meta = txn.open_table(def).unwrap();
            let v = (FORMAT_VERSION + 1).to_le_bytes();
            meta.insert("format_version", v.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        Store::open(&path, Options::new()),
        Err(hardstore::Error::FormatTooNew { found, .. }) if found == FORMAT_VERSION + 1
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before, "left untouched");
}
