//! Full backup benchmarks, side by side in one run: hardstore's full backup and restore
//! vs `cp` of the same store file and vs SQLite `VACUUM INTO` of the same rows, with
//! ratios, and the stall a durable writer sees while a full backup runs.
//!
//!     cargo bench --bench backup
//!
//! The store holds HARDSTORE_BENCH_MB (default 500) MB of app rows of 4,000 bytes, plus
//! 10,000 audit entries. Every copy is synced before its clock stops.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_or, fresh, scratch};
use hardstore::{backup, Durability, Options, Store};

const VALUE: usize = 4_000;

fn value(i: u64) -> Vec<u8> {
    let mut v = format!("{i:016}").into_bytes();
    v.resize(VALUE, b'v' + (i % 7) as u8);
    v
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn copy_synced(from: &Path, to: &Path) -> Duration {
    let _ = std::fs::remove_file(to);
    let t = Instant::now();
    std::fs::copy(from, to).unwrap();
    std::fs::File::open(to).unwrap().sync_all().unwrap();
    t.elapsed()
}

fn p99_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)].as_secs_f64() * 1e3
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = scratch("backup-bench");
    let mb = env_or("HARDSTORE_BENCH_MB", 500);
    let rows = mb * 1_000_000 / VALUE as u64;
    println!("\n== Full backup: {rows} rows of {VALUE} bytes ({mb} MB) ==");

    let src = fresh(&dir, "src.hardstore");
    let store = Store::open(&src, Options::new()).unwrap();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(2_000) {
        let chunk = chunk.to_vec();
        store
            .write(Durability::Buffered, move |tx| {
                for &i in &chunk {
                    tx.kv_put("bench", &i.to_be_bytes(), &value(i))?;
                }
                Ok(())
            })
            .unwrap();
    }
    common::fill_audit(&store, 10_000);

    // A durable writer runs throughout the backup; its latencies are the stall.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                store
                    .kv_put("stall", &i.to_be_bytes(), b"x", Durability::Durable)
                    .unwrap();
                lat.push(t.elapsed());
                i += 1;
            }
            lat
        })
    };
    let file = fresh(&dir, "full.hsb");
    let t = Instant::now();
    let info = store.backups().full(&file).unwrap();
    let hs_backup = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let lat = writer.join().unwrap();
    store.close().unwrap();
    let _ = std::fs::remove_file(src.with_extension("hardstore.redo"));

    let store_bytes = std::fs::metadata(&src).unwrap().len();
    let cp = copy_synced(&src, &dir.join("cp.hardstore"));

    let restored = fresh(&dir, "restored.hardstore");
    let t = Instant::now();
    backup::restore(&file, &restored, &Options::new()).unwrap();
    let hs_restore = t.elapsed();
    let cp_back = copy_synced(&dir.join("cp.hardstore"), &dir.join("cp-back.hardstore"));

    let (vacuum, vacuum_restore) = {
        let db = fresh(&dir, "src.db");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE rows(k INTEGER PRIMARY KEY, v BLOB NOT NULL);",
        )
        .unwrap();
        c.execute_batch("BEGIN").unwrap();
        for i in 0..rows {
            c.prepare_cached("INSERT INTO rows(k, v) VALUES (?1, ?2)")
                .unwrap()
                .execute(rusqlite::params![i as i64, value(i)])
                .unwrap();
        }
        c.execute_batch("COMMIT").unwrap();
        let snap = fresh(&dir, "snap.db");
        let t = Instant::now();
        c.execute("VACUUM INTO ?1", [snap.to_str().unwrap()])
            .unwrap();
        let v = t.elapsed();
        // Restoring a VACUUM INTO copy: VACUUM INTO again from it, to a new file.
        let back = fresh(&dir, "back.db");
        let s = rusqlite::Connection::open(&snap).unwrap();
        let t = Instant::now();
        s.execute("VACUUM INTO ?1", [back.to_str().unwrap()])
            .unwrap();
        (v, t.elapsed())
    };

    println!(
        "store file {:.0} MB, backup file {:.0} MB, {} frames",
        store_bytes as f64 / 1e6,
        info.bytes as f64 / 1e6,
        info.frames
    );
    println!(
        "{:>10} {:>12} {:>8} {:>18} {:>10} {:>12}",
        "", "hardstore s", "cp s", "sqlite VACUUM s", "vs cp", "vs sqlite"
    );
    for (name, h, c, s) in [
        ("backup", hs_backup, cp, vacuum),
        ("restore", hs_restore, cp_back, vacuum_restore),
    ] {
        println!(
            "{name:>10} {:>12.2} {:>8.2} {:>18.2} {:>9.2}x {:>11.2}x",
            secs(h),
            secs(c),
            secs(s),
            secs(c) / secs(h),
            secs(s) / secs(h)
        );
    }
    println!(
        "writer stall during the full backup: {} durable writes, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        p99_ms(lat.clone()),
        lat.iter().max().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "(\"vs\" columns: the other's time over hardstore's; above 1 means hardstore is faster)"
    );
}
