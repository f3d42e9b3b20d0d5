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
//! - space: the file's size after N single-row commits (HARDSTORE_BENCH_SPACE_COMMITS,
//!   default 100,000 and 1,000,000) of 200-byte rows over 10,000 keys, with 0, 1 and 8
//!   restore points alive (the 8 taken evenly through the run), against raw redb with 0
//!   and 1 persistent savepoint alive (what format 2 kept a point as). Commits are
//!   buffered (hardstore) or non-durable with a durable one every 1,000 (raw redb): the
//!   space, not the fsync, is measured.

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

const SPACE_KEYS: u64 = 10_000;

fn row200(i: u64, gen: u64) -> Vec<u8> {
    format!("{gen:012}-{i:012}-{}", "r".repeat(174)).into_bytes()
}

/// The store file's size after `commits` single-row commits with `points` restore points
/// alive (taken evenly through the run; the first before any commit).
fn hardstore_space(dir: &std::path::Path, commits: u64, points: u64) -> (u64, u64) {
    let path = fresh(dir, "space.hardstore");
    let store = Store::open(&path, Options::new()).unwrap();
    for chunk in (0..SPACE_KEYS).collect::<Vec<_>>().chunks(5_000) {
        let chunk = chunk.to_vec();
        store
            .write(Durability::Buffered, move |tx| {
                for &i in &chunk {
                    tx.kv_put("space", &i.to_be_bytes(), &row200(i, 0))?;
                }
                Ok(())
            })
            .unwrap();
    }
    // A point every `commits / points` commits; none without points.
    let every = commits.checked_div(points).unwrap_or(u64::MAX).max(1);
    for c in 0..commits {
        if points > 0 && c % every == 0 && c / every < points {
            store.restore_points().create("space").unwrap();
        }
        let k = (c.wrapping_mul(7919)) % SPACE_KEYS;
        store
            .kv_put(
                "space",
                &k.to_be_bytes(),
                &row200(k, c + 1),
                Durability::Buffered,
            )
            .unwrap();
    }
    let kept = store.restore_points().space().unwrap().pinned_bytes;
    store.close().unwrap();
    (std::fs::metadata(&path).unwrap().len(), kept)
}

fn raw_redb_space(dir: &std::path::Path, commits: u64, savepoint: bool) -> u64 {
    let path = fresh(dir, "space.redb");
    let db = redb::Database::create(&path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(RAW).unwrap();
        for i in 0..SPACE_KEYS {
            t.insert(i, row200(i, 0).as_slice()).unwrap();
        }
    }
    txn.commit().unwrap();
    if savepoint {
        let txn = db.begin_write().unwrap();
        txn.persistent_savepoint().unwrap();
        txn.commit().unwrap();
    }
    for c in 0..commits {
        let mut txn = db.begin_write().unwrap();
        if c % 1000 != 999 {
            txn.set_durability(redb::Durability::None).unwrap();
        }
        {
            let mut t = txn.open_table(RAW).unwrap();
            let k = (c.wrapping_mul(7919)) % SPACE_KEYS;
            t.insert(k, row200(k, c + 1).as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    drop(db);
    std::fs::metadata(&path).unwrap().len()
}

fn space(dir: &std::path::Path) {
    let runs: Vec<u64> = match std::env::var("HARDSTORE_BENCH_SPACE_COMMITS") {
        Ok(v) => v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![100_000, 1_000_000],
    };
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "\n== Restore point space: single-row commits of 200-byte rows over {SPACE_KEYS} keys =="
    );
    println!(
        "{:>10} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "commits",
        "0 pts MB",
        "1 pt MB",
        "8 pts MB",
        "1 pt/0",
        "8 pts/0",
        "kept 8 MB",
        "redb 0 MB",
        "redb 1 sp MB"
    );
    for commits in runs {
        let (none, _) = hardstore_space(dir, commits, 0);
        let (one, _) = hardstore_space(dir, commits, 1);
        let (eight, kept) = hardstore_space(dir, commits, 8);
        // A savepoint pins pages per commit: past 100,000 commits the file runs to GBs.
        let redb0 = raw_redb_space(dir, commits, false);
        let redb1 = (commits <= 100_000).then(|| raw_redb_space(dir, commits, true));
        println!(
            "{commits:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.2}x {:>9.2}x {:>10.2} {:>12.2} {:>12}",
            mb(none),
            mb(one),
            mb(eight),
            one as f64 / none as f64,
            eight as f64 / none as f64,
            mb(kept),
            mb(redb0),
            redb1.map_or("(skipped)".to_string(), |b| format!("{:.2}", mb(b)))
        );
    }
    println!("  target: with one point alive for 1,000,000 commits, the file at most 3x the size without");
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if std::env::var("HARDSTORE_BENCH_ONLY").as_deref() == Ok("space") {
        let dir = scratch("restore-points-bench");
        space(&dir);
        let _ = std::fs::remove_dir_all(&dir);
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
    space(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}
