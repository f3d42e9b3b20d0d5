//! Backup benchmarks, side by side in one run: hardstore's full backup and restore vs
//! `cp` of the same store file and vs SQLite `VACUUM INTO` of the same rows, with ratios;
//! the stall a durable writer sees while a full backup runs; an incremental after 1% of
//! the rows changed (time and size against the full's, and against the changed bytes);
//! an encrypted full backup; and what change tracking costs a durable write.
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
use hardstore::{backup, BackupKey, BackupKind, BackupOptions, Durability, Options, Store};

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
    let folder = dir.join("backups");
    let _ = std::fs::remove_dir_all(&folder);
    let plain = BackupOptions::default();
    let t = Instant::now();
    let full = store
        .backups()
        .run(BackupKind::Full, &folder, &plain)
        .unwrap();
    let hs_backup = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let lat = writer.join().unwrap();
    let file = full.path().to_path_buf();
    let info = backup::verify(&file).unwrap();

    // 1% of the rows overwritten, then an incremental.
    let changed: Vec<u64> = (0..rows).step_by(100).collect();
    let changed_bytes = changed.len() as u64 * (8 + VALUE as u64);
    for chunk in changed.chunks(2_000) {
        let chunk = chunk.to_vec();
        store
            .write(Durability::Buffered, move |tx| {
                for &i in &chunk {
                    tx.kv_put("bench", &i.to_be_bytes(), &value(i + 1))?;
                }
                Ok(())
            })
            .unwrap();
    }
    store.flush().unwrap();
    let t = Instant::now();
    let inc = store
        .backups()
        .run(BackupKind::Incremental, &folder, &plain)
        .unwrap();
    let hs_inc = t.elapsed();
    assert_eq!(inc.kind, BackupKind::Incremental);
    let chain = store.backups().chain(inc.id).unwrap();

    let sealed = BackupOptions {
        key: Some(BackupKey::new(1, [7; 32])),
        progress: None,
    };
    let enc_file = fresh(&dir, "sealed.hsb");
    let t = Instant::now();
    store.backups().full_with(&enc_file, &sealed).unwrap();
    let hs_sealed = t.elapsed();
    store.close().unwrap();

    let chain_out = fresh(&dir, "chain.hardstore");
    let t = Instant::now();
    backup::restore_chain(&chain, &chain_out, &Options::new(), None).unwrap();
    let hs_chain_restore = t.elapsed();
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
    println!(
        "incremental after 1% of rows changed ({} rows, {:.1} MB of keys and values): {:.3} s = {:.1}% of the full's time; {:.1} MB = {:.2}x the changed bytes, {:.2}% of the full's size",
        changed.len(),
        changed_bytes as f64 / 1e6,
        secs(hs_inc),
        100.0 * secs(hs_inc) / secs(hs_backup),
        inc.bytes as f64 / 1e6,
        inc.bytes as f64 / changed_bytes as f64,
        100.0 * inc.bytes as f64 / full.bytes as f64
    );
    println!(
        "restore of full + incremental: {:.2} s; encrypted full backup (AES-256-GCM): {:.2} s = {:.2}x the plain one's speed",
        secs(hs_chain_restore),
        secs(hs_sealed),
        secs(hs_backup) / secs(hs_sealed)
    );
    tracking_cost(&dir);
}

/// Durable single-row writes on a store without backups and on one whose change
/// tracking is on (after its first full backup): what the journal row costs.
fn tracking_cost(dir: &Path) {
    let n = 3_000u64;
    let rate = |tracked: bool| {
        let path = fresh(dir, &format!("tracking-{tracked}.hardstore"));
        let store = Store::open(&path, Options::new()).unwrap();
        if tracked {
            let folder = dir.join("tracking-backups");
            let _ = std::fs::remove_dir_all(&folder);
            store
                .backups()
                .run(BackupKind::Full, &folder, &BackupOptions::default())
                .unwrap();
        }
        let t = Instant::now();
        for i in 0..n {
            store
                .kv_put("app", &i.to_be_bytes(), &[1u8; 100], Durability::Durable)
                .unwrap();
        }
        let r = n as f64 / secs(t.elapsed());
        store.close().unwrap();
        r
    };
    let (off, on) = (rate(false), rate(true));
    println!(
        "durable 100-byte writes, 1 thread: {off:.0}/s untracked, {on:.0}/s with change tracking ({:.2}x)",
        on / off
    );
}
