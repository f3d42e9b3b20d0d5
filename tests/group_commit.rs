//! The group-commit write path under concurrency: batches take writes queued after they
//! started, and a write that fails on its own is dropped from its batch without half
//! applying or sinking the others.

mod common;

use hardstore::{AuditEvent, Durability, Error, Options, Store};

const THREADS: u64 = 16;
const WRITES: u64 = 300;

/// Write `i` of a thread fails (after writing) when this holds.
fn fails(t: u64, i: u64) -> bool {
    (t * 31 + i).is_multiple_of(7)
}

/// 16 threads, buffered and durable writes mixed, one in seven failing after it wrote:
/// every write that returned Ok is there exactly once (its key, and its audit entry),
/// every failed one left nothing, and the audit log verifies, before and after a reopen.
#[test]
fn failing_writes_never_half_apply_nor_sink_others_under_concurrency() {
    let dir = common::TempDir::new("group-commit");
    let path = dir.file("g.hs");
    let store = Store::open(&path, Options::new()).unwrap();
    let outcomes: Vec<Vec<bool>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = &store;
                s.spawn(move || {
                    (0..WRITES)
                        .map(|i| {
                            let durability = if i.is_multiple_of(3) {
                                Durability::Buffered
                            } else {
                                Durability::Durable
                            };
                            let res = store.write(durability, move |tx| {
                                let key = [t.to_le_bytes(), i.to_le_bytes()].concat();
                                tx.kv_put("g", &key, &i.to_le_bytes())?;
                                tx.audit_append(
                                    &AuditEvent::new("g", "write").resource(format!("{t}/{i}")),
                                )?;
                                if fails(t, i) {
                                    return Err(Error::InvalidArgument("refused".into()));
                                }
                                Ok(())
                            });
                            match res {
                                Ok(()) => true,
                                Err(Error::InvalidArgument(_)) => false,
                                Err(e) => panic!("thread {t} write {i}: {e}"),
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let check = |store: &Store| {
        let mut ok = 0;
        for (t, row) in outcomes.iter().enumerate() {
            for (i, &committed) in row.iter().enumerate() {
                let (t, i) = (t as u64, i as u64);
                assert_eq!(committed, !fails(t, i), "thread {t} write {i}");
                let key = [t.to_le_bytes(), i.to_le_bytes()].concat();
                let got = store.kv_get("g", &key).unwrap();
                assert_eq!(got.is_some(), committed, "thread {t} write {i}");
                ok += u64::from(committed);
            }
        }
        assert_eq!(
            store.audit().size().unwrap(),
            ok,
            "one audit entry per committed write"
        );
        assert!(store.audit().verify().unwrap().is_ok());
    };
    check(&store);
    let stats = store.write_stats();
    assert!(
        stats.batches < stats.writes,
        "concurrent writes shared batches: {stats:?}"
    );
    store.close().unwrap();
    check(&Store::open(&path, Options::new()).unwrap());
}
