//! Replication benchmark, side by side in one run: durable audit appends from 64 threads
//! with and without replication to a local `file://` target (the same disk), the lag
//! sampled every 10 ms (p50, p99: committed batch to batch in the replica), the bytes
//! shipped against the redo bytes the batches changed, and a restore from the replica
//! against a local restore of a full backup of the same store and SQLite's `VACUUM INTO`
//! copy. Targets: lag p99 < 2 s at the full rate; bytes shipped <= 1.5x the changed rows;
//! restore >= 0.5x the local full restore rate.
//!
//!     cargo bench --bench replication

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{env_or, fresh, run_for, scratch};
use hardstore::replication::{inspect, restore};
use hardstore::{AuditEvent, Durability, Options, ReplicateOptions, RestoreTo, Store};

fn append(store: &Store, t: u64, i: u64) {
    store
        .audit()
        .append(
            AuditEvent::new("acme", "invoice.paid")
                .actor(format!("user:{t}"))
                .resource(format!("invoice/{i}")),
            Durability::Durable,
        )
        .unwrap();
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    n
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs = env_or("HARDSTORE_BENCH_SECS", 5);
    let threads = env_or("HARDSTORE_BENCH_THREADS", 64);
    let dir = scratch("replication");

    let plain = Store::open(fresh(&dir, "plain.hs"), Options::new()).unwrap();
    let base = run_for(threads, secs, |t, i| append(&plain, t, i));
    plain.close().unwrap();

    let bucket = dir.join("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let url = format!("file://{}", bucket.display());
    let store = Store::open(fresh(&dir, "src.hs"), Options::new()).unwrap();
    store.replicate(&url, ReplicateOptions::default()).unwrap();
    assert!(store.wait_replicated(Duration::from_secs(60)).unwrap());
    let redo0 = store.write_stats().redo_bytes;
    let stop = AtomicBool::new(false);
    let mut lags = Vec::new();
    let rate = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut v = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Some(st) = store.replication_status() {
                    let now = hardstore::Clock::now(&hardstore::SystemClock);
                    v.push(st.oldest_unshipped.map_or(0, |t| now.saturating_sub(t)));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            v
        });
        let r = run_for(threads, secs, |t, i| append(&store, t, i));
        let t = Instant::now();
        assert!(store.wait_replicated(Duration::from_secs(120)).unwrap());
        let drain = t.elapsed();
        stop.store(true, Ordering::Relaxed);
        lags = sampler.join().unwrap();
        println!(
            "(the replica caught up {:.0} ms after the writers stopped)",
            drain.as_secs_f64() * 1e3
        );
        r
    });
    let changed = store.write_stats().redo_bytes - redo0;
    let size = store.audit().size().unwrap();
    let backup = dir.join("full.hsb");
    let _ = std::fs::remove_file(&backup);
    store.backups().full(&backup).unwrap();
    store.close().unwrap();
    lags.sort_unstable();
    let pct = |p: f64| lags[((lags.len() - 1) as f64 * p) as usize] as f64 / 1e3;
    let m = inspect(&url).unwrap().unwrap();
    let segment_bytes: u64 = m.segments.iter().map(|s| s.bytes).sum();

    let t = Instant::now();
    let out = fresh(&dir, "restored.hs");
    let r = restore(&url, &out, RestoreTo::Latest, &Options::new()).unwrap();
    let replica_restore = t.elapsed();
    assert_eq!(r.audit_size, size);
    let replica_bytes = dir_bytes(&bucket);
    let t = Instant::now();
    hardstore::backup::restore(&backup, fresh(&dir, "local.hs"), &Options::new()).unwrap();
    let local_restore = t.elapsed();
    let backup_bytes = std::fs::metadata(&backup).unwrap().len();

    let sq = fresh(&dir, "copy.sqlite");
    let db = rusqlite::Connection::open(fresh(&dir, "src.sqlite")).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode=WAL; CREATE TABLE audit(id INTEGER PRIMARY KEY, actor TEXT, resource TEXT);",
    )
    .unwrap();
    {
        let tx = db.unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare("INSERT INTO audit(actor, resource) VALUES (?1, ?2)")
            .unwrap();
        for i in 0..size {
            ins.execute([format!("user:{}", i % 64), format!("invoice/{i}")])
                .unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let t = Instant::now();
    db.execute(&format!("VACUUM INTO '{}'", sq.display()), [])
        .unwrap();
    let sqlite_copy = t.elapsed();

    println!("\n== Replication to file:// on the same disk, {threads} threads of durable audit appends, {secs} s ==");
    println!(
        "appends/s without replication {base:>9.0}   with {rate:>9.0}   ({:.2}x)",
        rate / base
    );
    println!(
        "lag p50 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms   (target p99 < 2000)",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "segment bytes {segment_bytes} for {changed} redo bytes changed ({:.2}x; target <= 1.5x)",
        segment_bytes as f64 / changed.max(1) as f64
    );
    println!(
        "restore from the replica ({} segments, {:.1} MB) {:>8.1} ms = {:.1} MB/s; local restore of a {:.1} MB full backup {:>8.1} ms = {:.1} MB/s ({:.2}x; target >= 0.5x); SQLite VACUUM INTO of the same rows {:>8.1} ms",
        m.segments.len(),
        replica_bytes as f64 / 1e6,
        replica_restore.as_secs_f64() * 1e3,
        replica_bytes as f64 / 1e6 / replica_restore.as_secs_f64(),
        backup_bytes as f64 / 1e6,
        local_restore.as_secs_f64() * 1e3,
        backup_bytes as f64 / 1e6 / local_restore.as_secs_f64(),
        (replica_bytes as f64 / replica_restore.as_secs_f64())
            / (backup_bytes as f64 / local_restore.as_secs_f64()),
        sqlite_copy.as_secs_f64() * 1e3
    );
}
