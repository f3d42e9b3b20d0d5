//! Audit log benchmarks, side by side in one run: hardstore vs SQLite (rusqlite, bundled)
//! vs raw redb, with ratios.
//!
//!     cargo bench --bench audit
//!
//! HARDSTORE_BENCH_SECS sets the seconds per append scenario (default 3);
//! HARDSTORE_BENCH_ENTRIES the size of the verify / proof log (default 1,000,000).

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_or, fresh, run_for};
use hardstore::audit::{leaf_hash, verify_inclusion};
use hardstore::{AuditEvent, Durability, Options, Store};
use redb::TableDefinition;

const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw_audit");

fn event(t: u64, i: u64) -> AuditEvent {
    AuditEvent::new("acme", "invoice.update")
        .actor(format!("user:{t}"))
        .resource(format!("invoice/{i}"))
        .outcome("success")
        .ip("203.0.113.7")
        .user_agent("bench/1.0")
        .detail("amount", "120.00")
}

/// The same bytes hardstore stores for an entry, for the baselines to write.
fn record(t: u64, i: u64) -> Vec<u8> {
    let e = event(t, i);
    format!(
        "{}|{}|{}|{}|{}|{}|{}|amount=120.00",
        e.tenant, e.actor, e.action, e.resource, e.outcome, e.ip, e.user_agent
    )
    .into_bytes()
}

fn durable_append(dir: &Path, secs: u64) {
    println!("\n== Durable audit append (each call returns once on disk), {secs} s each ==");
    println!(
        "{:>8} {:>14} {:>14} {:>14} {:>10} {:>10}",
        "threads", "hardstore/s", "sqlite/s", "raw redb/s", "vs sqlite", "vs redb"
    );
    for threads in [1u64, 8, 64] {
        let hs = {
            let store = Store::open(fresh(dir, "hs.hardstore"), Options::new()).unwrap();
            let r = run_for(threads, secs, |t, i| {
                store
                    .audit()
                    .append(event(t, i), Durability::Durable)
                    .unwrap();
            });
            store.close().unwrap();
            r
        };
        let sqlite = {
            let path = fresh(dir, "sqlite.db");
            {
                let c = rusqlite::Connection::open(&path).unwrap();
                c.execute_batch(
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
                     CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, record BLOB NOT NULL);",
                )
                .unwrap();
            }
            let conns: Vec<_> = (0..threads)
                .map(|_| {
                    let c = rusqlite::Connection::open(&path).unwrap();
                    c.execute_batch("PRAGMA synchronous=FULL;").unwrap();
                    c.busy_timeout(Duration::from_secs(60)).unwrap();
                    parking_lot::Mutex::new(c)
                })
                .collect();
            run_for(threads, secs, |t, i| {
                let c = conns[t as usize].lock();
                // One INSERT per transaction (autocommit), as a hand-rolled audit table does.
                c.execute("INSERT INTO audit(record) VALUES (?1)", [record(t, i)])
                    .unwrap();
            })
        };
        let raw = {
            let db = Arc::new(redb::Database::create(fresh(dir, "raw.redb")).unwrap());
            let next = AtomicU64::new(0);
            run_for(threads, secs, |t, i| {
                let txn = db.begin_write().unwrap();
                {
                    let mut table = txn.open_table(RAW).unwrap();
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    table.insert(seq, record(t, i).as_slice()).unwrap();
                }
                txn.commit().unwrap();
            })
        };
        println!(
            "{threads:>8} {hs:>14.0} {sqlite:>14.0} {raw:>14.0} {:>9.2}x {:>9.2}x",
            hs / sqlite,
            hs / raw
        );
    }
}

fn fill_hardstore(path: &Path, n: u64) -> Store {
    let store = Store::open(path, Options::new()).unwrap();
    let chunk = 10_000u64;
    let mut done = 0;
    while done < n {
        let k = chunk.min(n - done);
        let base = done;
        store
            .write(Durability::Buffered, move |tx| {
                for i in base..base + k {
                    tx.audit_append(&event(i % 8, i))?;
                }
                Ok(())
            })
            .unwrap();
        done += k;
    }
    store.flush().unwrap();
    store
}

fn verify_and_proofs(dir: &Path, n: u64) {
    println!("\n== Verify and proofs at {n} entries ==");
    let t = Instant::now();
    let store = fill_hardstore(&fresh(dir, "big.hardstore"), n);
    println!("  (filled hardstore in {:.1} s)", t.elapsed().as_secs_f64());
    let audit = store.audit();

    let t = Instant::now();
    let report = audit.verify().unwrap();
    let hs_secs = t.elapsed().as_secs_f64();
    assert!(report.is_ok());

    let sqlite_path = fresh(dir, "big.db");
    let c = rusqlite::Connection::open(&sqlite_path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE audit(seq INTEGER PRIMARY KEY, record BLOB NOT NULL);",
    )
    .unwrap();
    c.execute_batch("BEGIN").unwrap();
    {
        let mut ins = c
            .prepare("INSERT INTO audit(seq, record) VALUES (?1, ?2)")
            .unwrap();
        for i in 0..n {
            ins.execute(rusqlite::params![i as i64, record(i % 8, i)])
                .unwrap();
        }
    }
    c.execute_batch("COMMIT").unwrap();
    let t = Instant::now();
    let mut chain = [0u8; 32];
    let mut rows = 0u64;
    {
        let mut q = c.prepare("SELECT record FROM audit ORDER BY seq").unwrap();
        let mut it = q.query([]).unwrap();
        while let Some(row) = it.next().unwrap() {
            let rec = row.get_ref(0).unwrap().as_blob().unwrap();
            let mut h = blake3::Hasher::new();
            h.update(&chain);
            h.update(rec);
            chain = *h.finalize().as_bytes();
            rows += 1;
        }
    }
    let sq_secs = t.elapsed().as_secs_f64();
    assert_eq!(rows, n);
    println!(
        "  verify: hardstore {:.0} entries/s ({:.2} s) | sqlite hash-chain scan {:.0} rows/s ({:.2} s) | ratio {:.2}x",
        n as f64 / hs_secs,
        hs_secs,
        n as f64 / sq_secs,
        sq_secs,
        sq_secs / hs_secs
    );

    // Inclusion proofs at full size: generate and verify, random leaves.
    let root = audit.root(n).unwrap();
    let leaves: Vec<_> = (0..2_000u64)
        .map(|k| (k * 2_654_435_761) % n)
        .map(|seq| (seq, audit.get(seq).unwrap().leaf_hash().unwrap()))
        .collect();
    let mut gen = Vec::with_capacity(leaves.len());
    let mut ver = Vec::with_capacity(leaves.len());
    let mut max_bytes = 0;
    for (seq, leaf) in &leaves {
        let t = Instant::now();
        let p = audit.inclusion_proof(*seq, n).unwrap();
        gen.push(t.elapsed());
        let t = Instant::now();
        verify_inclusion(leaf, *seq, n, &p.hashes, &root).unwrap();
        ver.push(t.elapsed());
        max_bytes = max_bytes.max(p.to_bytes().len());
    }
    gen.sort();
    ver.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
    let bound = 32 * (n as f64).log2().ceil() as usize;
    println!(
        "  inclusion proof: generate p50 {:.1} us p99 {:.1} us | verify p50 {:.1} us p99 {:.1} us | size <= {} bytes (bound 32*ceil(log2 n) = {})",
        pct(&gen, 0.5),
        pct(&gen, 0.99),
        pct(&ver, 0.5),
        pct(&ver, 0.99),
        max_bytes,
        bound
    );
    let _ = leaf_hash(b"");
    store.close().unwrap();
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: skip the long work then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hardstore-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secs = env_or("HARDSTORE_BENCH_SECS", 3);
    let n = env_or("HARDSTORE_BENCH_ENTRIES", 1_000_000);
    durable_append(&dir, secs);
    verify_and_proofs(&dir, n);
    std::fs::remove_dir_all(&dir).unwrap();
}
