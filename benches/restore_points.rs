//! Restore point benchmarks, side by side in one run: hardstore vs raw redb savepoints vs
//! SQLite (which has no persistent savepoint: a snapshot is `VACUUM INTO` a file and a
//! roll-back copies the tables back from it), with ratios.
//!
//!     cargo bench --bench restore_points
//!
//! - create: a restore point of a store holding HARDSTORE_BENCH_ROWS app rows (default
//!   100,000 of 100 bytes) and an audit log of 10,000 entries; median of 9.
//! - restore after 10,000 changed rows (with 1,000 audit entries and 1,000 log entries
//!   written since, which a restore keeps).

mod common;

use std::time::{Duration, Instant};

use common::{env_or, fresh, scratch};
use hardstore::logs::{Level, LogRecord};
use hardstore::{AuditEvent, Durability, Options, Store};
use redb::{ReadableDatabase, TableDefinition};

const CHANGES: u64 = 10_000;
const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("rows");

fn value(i: u64, gen: u64) -> Vec<u8> {
    format!("{gen:08}-{i:012}-{}", "v".repeat(79)).into_bytes()
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn fill_hardstore(store: &Store, rows: u64, gen: u64) {
    for chunk in (0..rows).collect::<Vec<_>>().chunks(5_000) {
        let chunk = chunk.to_vec();
        store
            .write(Durability::Buffered, move |tx| {
                for &i in &chunk {
                    tx.kv_put("bench", &i.to_be_bytes(), &value(i, gen))?;
                }
                Ok(())
            })
            .unwrap();
    }
    store.flush().unwrap();
}

fn hardstore(dir: &std::path::Path, rows: u64) -> (f64, f64) {
    let store = Store::open(fresh(dir, "rp.hardstore"), Options::new()).unwrap();
    fill_hardstore(&store, rows, 0);
    common::fill_audit(&store, 10_000);
    let rp = store.restore_points();
    let mut creates = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let p = rp.create("bench").unwrap();
        creates.push(t.elapsed());
        rp.delete(p.id).unwrap();
    }
    let point = rp.create("before changes").unwrap();
    fill_hardstore(&store, CHANGES, 1);
    for i in 0..1_000u64 {
        store
            .audit()
            .append(AuditEvent::new("acme", "after"), Durability::Buffered)
            .unwrap();
        store
            .logs()
            .append(
                LogRecord::new(Level::Info, format!("after {i}")),
                Durability::Buffered,
            )
            .unwrap();
    }
    store.flush().unwrap();
    let t = Instant::now();
    rp.restore(point.id, "bench").unwrap();
    let restore = t.elapsed();
    assert_eq!(
        store.kv_get("bench", &0u64.to_be_bytes()).unwrap(),
        Some(value(0, 0))
    );
    store.close().unwrap();
    (median(creates), restore.as_secs_f64() * 1e3)
}

fn raw_redb(dir: &std::path::Path, rows: u64) -> (f64, f64) {
    let db = redb::Database::create(fresh(dir, "raw.redb")).unwrap();
    let fill = |gen: u64, n: u64| {
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(RAW).unwrap();
            for i in 0..n {
                t.insert(i, value(i, gen).as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    };
    fill(0, rows);
    let savepoint = || {
        let txn = db.begin_write().unwrap();
        let id = txn.persistent_savepoint().unwrap();
        txn.commit().unwrap();
        id
    };
    let mut creates = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let id = savepoint();
        creates.push(t.elapsed());
        let txn = db.begin_write().unwrap();
        txn.delete_persistent_savepoint(id).unwrap();
        txn.commit().unwrap();
    }
    let id = savepoint();
    fill(1, CHANGES);
    let t = Instant::now();
    let mut txn = db.begin_write().unwrap();
    let sp = txn.get_persistent_savepoint(id).unwrap();
    txn.restore_savepoint(&sp).unwrap();
    txn.commit().unwrap();
    let restore = t.elapsed();
    let read = db.begin_read().unwrap();
    let got = read
        .open_table(RAW)
        .unwrap()
        .get(0)
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    assert_eq!(got, value(0, 0));
    (median(creates), restore.as_secs_f64() * 1e3)
}

fn sqlite(dir: &std::path::Path, rows: u64) -> (f64, f64) {
    let path = fresh(dir, "rp.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE rows(k INTEGER PRIMARY KEY, v BLOB NOT NULL);",
    )
    .unwrap();
    let fill = |gen: u64, n: u64| {
        c.execute_batch("BEGIN").unwrap();
        for i in 0..n {
            c.prepare_cached("INSERT OR REPLACE INTO rows(k, v) VALUES (?1, ?2)")
                .unwrap()
                .execute(rusqlite::params![i as i64, value(i, gen)])
                .unwrap();
        }
        c.execute_batch("COMMIT").unwrap();
    };
    fill(0, rows);
    let snap = dir.join("snap.db");
    let mut creates = Vec::new();
    for _ in 0..9 {
        let _ = std::fs::remove_file(&snap);
        let t = Instant::now();
        c.execute("VACUUM INTO ?1", [snap.to_str().unwrap()])
            .unwrap();
        creates.push(t.elapsed());
    }
    fill(1, CHANGES);
    let t = Instant::now();
    c.execute("ATTACH ?1 AS snap", [snap.to_str().unwrap()])
        .unwrap();
    c.execute_batch("BEGIN; DELETE FROM rows; INSERT INTO rows SELECT * FROM snap.rows; COMMIT;")
        .unwrap();
    let restore = t.elapsed();
    c.execute_batch("DETACH snap").unwrap();
    (median(creates), restore.as_secs_f64() * 1e3)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = scratch("restore-points-bench");
    let rows = env_or("HARDSTORE_BENCH_ROWS", 100_000);
    println!(
        "\n== Restore points: {rows} rows of 100 bytes, {CHANGES} changed before the restore =="
    );
    let (hc, hr) = hardstore(&dir, rows);
    let (rc, rr) = raw_redb(&dir, rows);
    let (sc, sr) = sqlite(&dir, rows);
    println!(
        "{:>22} {:>12} {:>12} {:>14} {:>10} {:>10}",
        "", "hardstore ms", "raw redb ms", "sqlite ms", "vs sqlite", "vs redb"
    );
    println!(
        "{:>22} {hc:>12.3} {rc:>12.3} {sc:>14.3} {:>9.1}x {:>9.2}x",
        "create (median of 9)",
        sc / hc,
        rc / hc
    );
    println!(
        "{:>22} {hr:>12.3} {rr:>12.3} {sr:>14.3} {:>9.1}x {:>9.2}x",
        "restore",
        sr / hr,
        rr / hr
    );
    println!("  targets: create under 1 ms; restore after {CHANGES} changes under 50 ms");
    println!("  (hardstore reads the state digest every write keeps; it does not scan)");
    let _ = std::fs::remove_dir_all(&dir);
}
