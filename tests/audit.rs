mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{event, TempDir};
use hardstore::{
    AuditEvent, AuditQuery, Checkpoint, Durability, Error, ManualClock, Options, Order, Store,
};
use redb::{ReadableTable, TableDefinition};

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("audit.entries");
const NODES: TableDefinition<u64, &[u8]> = TableDefinition::new("audit.nodes");

fn filled(dir: &TempDir, n: u64) -> std::path::PathBuf {
    let path = dir.file("s.hs");
    let store = Store::open(&path, Options::new()).unwrap();
    for i in 0..n {
        store
            .audit()
            .append(event(i), Durability::Buffered)
            .unwrap();
    }
    store.close().unwrap();
    path
}

/// Runs `f` on the raw redb file, bypassing hardstore, as an attacker would.
fn tamper(path: &std::path::Path, f: impl FnOnce(&redb::WriteTransaction)) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    f(&txn);
    txn.commit().unwrap();
}

fn verify_report(path: &std::path::Path) -> hardstore::VerifyReport {
    let store = Store::open(path, Options::new()).unwrap();
    let r = store.audit().verify().unwrap();
    store.close().unwrap();
    r
}

#[test]
fn append_get_and_verify() {
    let dir = TempDir::new("basic");
    let clock = ManualClock::new(1_000);
    let store = Store::open(dir.file("s.hs"), Options::new().clock(clock.clone())).unwrap();
    let a = store.audit();
    assert_eq!(a.size().unwrap(), 0);
    assert_eq!(a.root(0).unwrap(), hardstore::audit::empty_root());
    let r0 = a
        .append(
            AuditEvent::new("acme", "login")
                .actor("alice")
                .ip("2001:db8::1")
                .detail("b", "2")
                .detail("a", "1"),
            Durability::Durable,
        )
        .unwrap();
    clock.advance(5);
    let r1 = a
        .append(AuditEvent::new("acme", "logout"), Durability::Durable)
        .unwrap();
    assert_eq!((r0.seq, r0.time, r1.seq, r1.time), (0, 1_000, 1, 1_005));
    let e = a.get(0).unwrap();
    assert_eq!(e.actor, "alice");
    assert_eq!(e.ip, "2001:db8::1");
    assert_eq!(
        e.details,
        vec![("b".into(), "2".into()), ("a".into(), "1".into())]
    );
    assert!(matches!(a.get(2), Err(Error::NotFound(_))));
    let report = a.verify().unwrap();
    assert!(report.is_ok());
    assert_eq!((report.size, report.checked), (2, 2));
    assert_eq!(report.root, a.root(2).unwrap());
    store.close().unwrap();
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = TempDir::new("bad");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    let a = store.audit();
    let cases = vec![
        AuditEvent::new("", "x"),
        AuditEvent::new("t", ""),
        AuditEvent::new("t".repeat(129), "x"),
        AuditEvent::new("t", "x").actor("a".repeat(257)),
        AuditEvent::new("t", "x").ip("not an ip"),
        AuditEvent::new("t", "x").detail("", "v"),
        AuditEvent::new("t", "x").detail("k", "v".repeat(4097)),
        (0..65).fold(AuditEvent::new("t", "x"), |e, i| {
            e.detail(format!("k{i}"), "v")
        }),
        (0..40).fold(AuditEvent::new("t", "x"), |e, i| {
            e.detail(format!("k{i}"), "v".repeat(2000))
        }),
    ];
    for ev in cases {
        let err = a.append(ev.clone(), Durability::Durable).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_) | Error::TooLong { .. }),
            "{ev:?} gave {err:?}"
        );
        // The same refusal inside a multi-area write leaves the batch alone.
        let err = store
            .write(Durability::Durable, move |tx| tx.audit_append(&ev))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidArgument(_) | Error::TooLong { .. }
        ));
    }
    assert_eq!(a.size().unwrap(), 0);
    // A write closure that fails after appending leaves nothing behind.
    let err = store
        .write(Durability::Durable, |tx| {
            tx.audit_append(&AuditEvent::new("t", "x"))?;
            Err::<(), _>(Error::InvalidArgument("caller changed its mind".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    assert_eq!(a.size().unwrap(), 0);
    // A panicking closure neither kills the writer nor leaves a write behind.
    let err = store
        .write(Durability::Durable, |tx| {
            tx.audit_append(&AuditEvent::new("t", "x"))?;
            if tx.now() > 0 {
                panic!("boom");
            }
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Panicked(_)));
    a.append(AuditEvent::new("t", "ok"), Durability::Durable)
        .unwrap();
    assert_eq!(a.size().unwrap(), 1);
    store.close().unwrap();
}

#[test]
fn eight_threads_ten_thousand_appends_each() {
    let dir = TempDir::new("threads");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    let per = 10_000u64;
    let seqs: Vec<Vec<u64>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8u64)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || {
                    (0..per)
                        .map(|i| {
                            let d = if i % 100 == 0 {
                                Durability::Durable
                            } else {
                                Durability::Buffered
                            };
                            store.audit().append(event(t * per + i), d).unwrap().seq
                        })
                        .collect()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: HashSet<u64> = seqs.iter().flatten().copied().collect();
    assert_eq!(all.len() as u64, 8 * per, "seqs are unique");
    assert_eq!(all, (0..8 * per).collect(), "seqs are gap-free");
    for s in &seqs {
        assert!(
            s.windows(2).all(|w| w[0] < w[1]),
            "per-thread seqs increase"
        );
    }
    let a = store.audit();
    for seq in (0..8 * per).step_by(997) {
        assert_eq!(a.get(seq).unwrap().seq, seq);
    }
    let r = a.verify().unwrap();
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.checked, 8 * per);
    let stats = store.write_stats();
    // The flusher's syncs go through the write path too.
    assert!(stats.writes >= 8 * per, "{stats:?}");
    assert!(
        stats.batches < stats.writes,
        "concurrent writes share transactions: {stats:?}"
    );
    store.close().unwrap();
}

#[test]
fn buffered_writes_are_synced_by_the_flusher() {
    let dir = TempDir::new("flusher");
    let store = Store::open(
        dir.file("s.hs"),
        Options::new().flush_interval(std::time::Duration::from_millis(20)),
    )
    .unwrap();
    store
        .audit()
        .append(event(0), Durability::Buffered)
        .unwrap();
    assert_eq!(
        store.write_stats().syncs,
        0,
        "a buffered write does not sync"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.write_stats().syncs == 0 {
        assert!(std::time::Instant::now() < deadline, "never synced");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    store.audit().append(event(1), Durability::Durable).unwrap();
    assert_eq!(store.write_stats().syncs, 2);
    store.close().unwrap();
}

#[test]
fn tampering_with_an_entry_byte_is_caught() {
    let dir = TempDir::new("tamper-byte");
    let path = filled(&dir, 50);
    let original: Vec<u8> = {
        let db = redb::Database::open(&path).unwrap();
        let r = redb::ReadableDatabase::begin_read(&db).unwrap();
        let t = r.open_table(ENTRIES).unwrap();
        let v = t.get(17).unwrap().unwrap().value().to_vec();
        v
    };
    for i in 0..original.len() {
        let mut changed = original.clone();
        changed[i] ^= 0x01;
        tamper(&path, |txn| {
            txn.open_table(ENTRIES)
                .unwrap()
                .insert(17, changed.as_slice())
                .unwrap();
        });
        let r = verify_report(&path);
        assert_eq!(r.first_bad_seq, Some(17), "byte {i}: {r:?}");
        assert_eq!(r.checked, 17);
    }
    tamper(&path, |txn| {
        txn.open_table(ENTRIES)
            .unwrap()
            .insert(17, original.as_slice())
            .unwrap();
    });
    assert!(verify_report(&path).is_ok());
}

#[test]
fn deleting_swapping_and_node_edits_are_caught() {
    let dir = TempDir::new("tamper-structure");
    let path = filled(&dir, 40);
    // Delete entry 9.
    tamper(&path, |txn| {
        txn.open_table(ENTRIES).unwrap().remove(9).unwrap();
    });
    let r = verify_report(&path);
    assert_eq!(r.first_bad_seq, Some(9), "{r:?}");

    let dir = TempDir::new("tamper-swap");
    let path = filled(&dir, 40);
    tamper(&path, |txn| {
        let mut t = txn.open_table(ENTRIES).unwrap();
        let a = t.get(12).unwrap().unwrap().value().to_vec();
        let b = t.get(30).unwrap().unwrap().value().to_vec();
        t.insert(12, b.as_slice()).unwrap();
        t.insert(30, a.as_slice()).unwrap();
    });
    assert_eq!(verify_report(&path).first_bad_seq, Some(12));

    let dir = TempDir::new("tamper-node");
    let path = filled(&dir, 40);
    tamper(&path, |txn| {
        txn.open_table(NODES)
            .unwrap()
            .insert((23u64 << 6) | 2, [7u8; 32].as_slice()) // node (level 2, index 5)
            .unwrap();
    });
    assert_eq!(verify_report(&path).first_bad_seq, Some(20));

    let dir = TempDir::new("tamper-extra");
    let path = filled(&dir, 40);
    tamper(&path, |txn| {
        txn.open_table(ENTRIES)
            .unwrap()
            .insert(99, [1u8, 2, 3].as_slice())
            .unwrap();
    });
    assert_eq!(verify_report(&path).first_bad_seq, Some(40));
}

#[test]
fn consistency_from_a_checkpoint_fails_after_a_rewrite() {
    let dir = TempDir::new("rewrite");
    let path = dir.file("s.hs");
    let key = b"0123456789abcdef0123456789abcdef";
    let store = Store::open(&path, Options::new().audit_key(key)).unwrap();
    for i in 0..20 {
        store.audit().append(event(i), Durability::Durable).unwrap();
    }
    let cp = store.audit().checkpoint().unwrap();
    cp.verify_mac(key).unwrap();
    assert!(cp.verify_mac(b"another key").is_err());
    let bytes = cp.to_bytes();
    assert_eq!(Checkpoint::from_bytes(&bytes).unwrap(), cp);
    for i in 20..33 {
        store.audit().append(event(i), Durability::Durable).unwrap();
    }
    let (new_cp, proof) = store.audit().prove_since(&cp).unwrap();
    assert_eq!(new_cp.size, 33);
    proof.verify(&cp.root, &new_cp.root).unwrap();
    store.close().unwrap();

    // Rewrite history: re-create a log with entry 5 changed, and every node to match.
    let forged = dir.file("forged.hs");
    let store = Store::open(&forged, Options::new().audit_key(key)).unwrap();
    for i in 0..33 {
        let ev = if i == 5 {
            event(i).outcome("rewritten")
        } else {
            event(i)
        };
        store.audit().append(ev, Durability::Buffered).unwrap();
    }
    assert!(
        store.audit().verify().unwrap().is_ok(),
        "internally consistent"
    );
    let forged_root = store.audit().root(33).unwrap();
    let forged_proof = store.audit().consistency_proof(20, 33).unwrap();
    assert!(forged_proof.verify(&cp.root, &forged_root).is_err());
    // And a proof from the forged store's own old root does not match the checkpoint.
    assert_ne!(store.audit().root(20).unwrap(), cp.root);
    store.close().unwrap();
}

#[test]
fn queries_filter_order_and_page() {
    let dir = TempDir::new("query");
    let clock = ManualClock::new(10_000);
    let store = Store::open(dir.file("s.hs"), Options::new().clock(clock.clone())).unwrap();
    let a = store.audit();
    for i in 0..300u64 {
        a.append(event(i), Durability::Buffered).unwrap();
        clock.advance(10);
    }
    // tenant-0 holds i % 3 == 0; by actor-1 also i % 7 == 1; action-2: i % 5 == 2.
    let expect = |f: &dyn Fn(u64) -> bool| -> Vec<u64> { (0..300).filter(|i| f(*i)).collect() };
    let all = |q: AuditQuery| -> Vec<u64> {
        let mut out = Vec::new();
        let mut q = q;
        loop {
            let page = a.query(&q).unwrap();
            out.extend(page.entries.iter().map(|e| e.seq));
            match page.next {
                Some(c) => q = q.after(c),
                None => return out,
            }
        }
    };
    assert_eq!(
        all(AuditQuery::new("tenant-0").limit(7)),
        expect(&|i| i % 3 == 0)
    );
    assert_eq!(
        all(AuditQuery::new("tenant-0").actor("actor-1").limit(3)),
        expect(&|i| i % 3 == 0 && i % 7 == 1)
    );
    assert_eq!(
        all(AuditQuery::new("tenant-0").action("action-2").limit(4)),
        expect(&|i| i % 3 == 0 && i % 5 == 2)
    );
    assert_eq!(
        all(AuditQuery::new("tenant-1")
            .actor("actor-3")
            .action("action-4")
            .limit(1)),
        expect(&|i| i % 3 == 1 && i % 7 == 3 && i % 5 == 4)
    );
    let mut newest = expect(&|i| i % 3 == 2 && (100..200).contains(&i));
    newest.reverse();
    assert_eq!(
        all(AuditQuery::new("tenant-2")
            .order(Order::NewestFirst)
            .time_range(Some(10_000 + 1_000), Some(10_000 + 2_000))
            .limit(9)),
        newest
    );
    let page = a.query(&AuditQuery::new("tenant-0").limit(100)).unwrap();
    assert_eq!(page.entries.len(), 100);
    assert!(page.next.is_none(), "exactly 100 match: no cursor");
    assert!(a
        .query(&AuditQuery::new("nobody"))
        .unwrap()
        .entries
        .is_empty());
    // Bad queries and cursors.
    assert!(a.query(&AuditQuery::new("")).is_err());
    assert!(a.query(&AuditQuery::new("t").limit(0)).is_err());
    assert!(a.query(&AuditQuery::new("t").limit(10_001)).is_err());
    assert!(a
        .query(&AuditQuery::new("t").time_range(Some(5), Some(4)))
        .is_err());
    let c = a
        .query(&AuditQuery::new("tenant-0").limit(2))
        .unwrap()
        .next
        .unwrap();
    assert!(a
        .query(&AuditQuery::new("tenant-1").after(c.clone()))
        .is_err());
    assert_eq!(hardstore::Cursor::from_bytes(&c.to_bytes()).unwrap(), c);
    assert!(hardstore::Cursor::from_bytes(&[1, 2, 3]).is_err());
    // Export to JSON Lines.
    let mut out = Vec::new();
    let n = a
        .export_jsonl(&AuditQuery::new("tenant-0").limit(13), &mut out)
        .unwrap();
    assert_eq!(n, 100);
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 100);
    assert_eq!(lines[1]["seq"], 3);
    assert_eq!(lines[1]["tenant"], "tenant-0");
    store.close().unwrap();
}

#[test]
fn open_refuses_foreign_and_newer_files_untouched() {
    let dir = TempDir::new("refuse");
    // Not a redb file.
    let junk = dir.file("junk");
    std::fs::write(&junk, b"hello, this is not a database").unwrap();
    let before = std::fs::read(&junk).unwrap();
    assert!(matches!(
        Store::open(&junk, Options::new()),
        Err(Error::NotAStore { .. })
    ));
    assert!(std::fs::read(&junk).unwrap() == before, "file changed");
    // A redb file that is not a hardstore store.
    let other = dir.file("other.redb");
    {
        let db = redb::Database::create(&other).unwrap();
        let t = db.begin_write().unwrap();
        t.open_table(TableDefinition::<u64, u64>::new("x"))
            .unwrap()
            .insert(1, 2)
            .unwrap();
        t.commit().unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    assert!(matches!(
        Store::open(&other, Options::new()),
        Err(Error::NotAStore { .. })
    ));
    assert!(std::fs::read(&other).unwrap() == before, "file changed");
    // A newer format version.
    let path = filled(&dir, 3);
    tamper(&path, |txn| {
        txn.open_table(TableDefinition::<&str, &[u8]>::new("hardstore.meta"))
            .unwrap()
            .insert("format_version", 99u32.to_le_bytes().as_slice())
            .unwrap();
    });
    let before = std::fs::read(&path).unwrap();
    match Store::open(&path, Options::new()) {
        Err(Error::FormatTooNew { found, supported }) => {
            assert_eq!((found, supported), (99, hardstore::FORMAT_VERSION))
        }
        other => panic!("expected FormatTooNew, got {other:?}"),
    }
    assert!(std::fs::read(&path).unwrap() == before, "file changed");
}

#[test]
fn a_store_cut_in_half_is_corrupted_and_a_clean_close_leaves_the_redo_header_alone() {
    let dir = TempDir::new("cut");
    let path = filled(&dir, 300);
    // A clean close leaves the redo log as its header alone (magic and store id).
    let redo = dir.file("s.hs.redo");
    assert_eq!(std::fs::metadata(&redo).map(|m| m.len()).ok(), Some(24));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    match Store::open(&path, Options::new()) {
        Err(Error::Corrupted(msg)) => assert!(msg.contains("s.hs"), "{msg}"),
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

#[test]
fn second_open_is_refused_and_id_persists() {
    let dir = TempDir::new("twice");
    let path = dir.file("s.hs");
    let store = Store::open(&path, Options::new()).unwrap();
    let id = store.id();
    assert!(matches!(
        Store::open(&path, Options::new()),
        Err(Error::AlreadyOpen(_))
    ));
    store.close().unwrap();
    let store = Store::open(&path, Options::new()).unwrap();
    assert_eq!(store.id(), id);
    let other = Store::open(dir.file("t.hs"), Options::new()).unwrap();
    assert_ne!(other.id(), id);
}

#[test]
fn buffered_writes_are_visible_at_once_and_flushed_on_close() {
    let dir = TempDir::new("buffered");
    let path = dir.file("s.hs");
    let store = Store::open(
        &path,
        Options::new().flush_interval(std::time::Duration::from_secs(3600)),
    )
    .unwrap();
    for i in 0..100 {
        store
            .audit()
            .append(event(i), Durability::Buffered)
            .unwrap();
    }
    assert_eq!(store.audit().size().unwrap(), 100);
    let clone = store.clone();
    store.close().unwrap();
    assert!(matches!(
        clone.audit().append(event(0), Durability::Durable),
        Err(Error::Closed)
    ));
    drop(clone);
    let store = Store::open(&path, Options::new()).unwrap();
    assert_eq!(store.audit().size().unwrap(), 100);
    assert!(store.audit().verify().unwrap().is_ok());
}

#[test]
fn checkpoint_bytes_are_checked() {
    let dir = TempDir::new("cp");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    store.audit().append(event(0), Durability::Durable).unwrap();
    let cp = store.audit().checkpoint().unwrap();
    assert!(cp.mac.is_none());
    assert!(cp.verify_mac(b"k").is_err());
    let b = cp.to_bytes();
    assert!(Checkpoint::from_bytes(&b[..101]).is_err());
    let mut bad = b;
    bad[0] = b'X';
    assert!(Checkpoint::from_bytes(&bad).is_err());
    let mut bad = b;
    bad[80] = 1;
    assert!(Checkpoint::from_bytes(&bad).is_err());
    let other = Store::open(dir.file("t.hs"), Options::new()).unwrap();
    assert!(other.audit().prove_since(&cp).is_err());
    let _ = Arc::new(());
}

/// A log of several verify chunks (65,536 leaves each, checked in parallel): problems in
/// a chunk, in two chunks, and in a node above the chunks are reported as a scan from
/// seq 0 meets them, and a sound log's recomputed root is the stored one.
#[test]
fn verify_across_chunks_reports_what_a_scan_from_the_start_would() {
    const CHUNK: u64 = 1 << 16;
    let n = 3 * CHUNK + 100;
    let dir = TempDir::new("chunks");
    let path = dir.file("s.hs");
    {
        let store = Store::open(&path, Options::new()).unwrap();
        let mut i = 0;
        while i < n {
            let k = (n - i).min(20_000);
            store
                .write(Durability::Buffered, move |tx| {
                    for j in i..i + k {
                        tx.audit_append(&event(j))?;
                    }
                    Ok(())
                })
                .unwrap();
            i += k;
        }
        let r = store.audit().verify().unwrap();
        assert!(r.is_ok(), "{r:?}");
        assert_eq!((r.size, r.checked), (n, n));
        assert_eq!(r.root, store.audit().root(n).unwrap());
        store.close().unwrap();
    }
    let get = |t: TableDefinition<u64, &[u8]>, k: u64| -> Vec<u8> {
        let db = redb::Database::open(&path).unwrap();
        let r = redb::ReadableDatabase::begin_read(&db).unwrap();
        let v = r
            .open_table(t)
            .unwrap()
            .get(k)
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        v
    };
    let put = |t: TableDefinition<u64, &[u8]>, k: u64, v: &[u8]| {
        tamper(&path, |txn| {
            txn.open_table(t).unwrap().insert(k, v).unwrap();
        })
    };
    let flipped = |mut v: Vec<u8>| {
        let last = v.len() - 1;
        v[last] ^= 1;
        v
    };

    // One entry in the third chunk.
    let (a, b) = (2 * CHUNK + 7, CHUNK + 5);
    let (ea, eb) = (get(ENTRIES, a), get(ENTRIES, b));
    put(ENTRIES, a, &flipped(ea.clone()));
    let r = verify_report(&path);
    assert_eq!((r.first_bad_seq, r.checked), (Some(a), a), "{r:?}");
    // And one in the second: the earlier is reported.
    put(ENTRIES, b, &flipped(eb.clone()));
    let r = verify_report(&path);
    assert_eq!((r.first_bad_seq, r.checked), (Some(b), b), "{r:?}");
    put(ENTRIES, a, &ea);
    put(ENTRIES, b, &eb);
    assert!(verify_report(&path).is_ok());

    // Node (17, 0) covers the first two chunks: its last leaf is 2 * CHUNK - 1.
    let key = ((2 * CHUNK - 1) << 6) | 17;
    let node = get(NODES, key);
    put(NODES, key, &[9u8; 32]);
    let r = verify_report(&path);
    assert_eq!(r.first_bad_seq, Some(0), "{r:?}");
    assert_eq!(
        r.problem.as_deref(),
        Some("Merkle node (17, 0) does not match")
    );
    // A problem inside the second chunk is met before that node is.
    put(ENTRIES, b, &flipped(eb.clone()));
    assert_eq!(verify_report(&path).first_bad_seq, Some(b));
    put(ENTRIES, b, &eb);
    put(NODES, key, &node);
    let r = verify_report(&path);
    assert!(r.is_ok(), "{r:?}");

    // A stray row among the nodes whose last leaf ends the first chunk: a scan meets it
    // where it expects the next leaf's node...
    let stray = ((CHUNK - 1) << 6) | 40;
    put(NODES, stray, &[1u8; 32]);
    let r = verify_report(&path);
    assert_eq!(r.first_bad_seq, Some(CHUNK), "{r:?}");
    assert_eq!(
        r.problem,
        Some(format!("Merkle node (0, {CHUNK}) is missing"))
    );
    // ...but only after the next entry, whose own problem comes first.
    let first_of_next = get(ENTRIES, CHUNK);
    tamper(&path, |txn| {
        txn.open_table(ENTRIES).unwrap().remove(CHUNK).unwrap();
    });
    let r = verify_report(&path);
    assert_eq!(r.first_bad_seq, Some(CHUNK), "{r:?}");
    assert_eq!(
        r.problem,
        Some(format!("entry {CHUNK} is missing (next is {})", CHUNK + 1))
    );
    put(ENTRIES, CHUNK, &first_of_next);
    tamper(&path, |txn| {
        txn.open_table(NODES).unwrap().remove(stray).unwrap();
    });
    assert!(verify_report(&path).is_ok());
}
