//! Health benchmark: `store.health()` (the fast checks) on a store of 1,000,000 audit
//! entries and a full log ring of 100,000 entries, side by side with the hand-rolled
//! equivalent on SQLite (rusqlite, bundled): the same figures from indexed tables (error
//! rate and p95 duration of the last 5 minutes of a 100,000-row request log, dead
//! letters in the dead state) and `PRAGMA quick_check` omitted (it reads the whole file;
//! hardstore's deep check is timed apart). Also the first check after an open (it
//! verifies the whole audit log) and the deep check. Target: health() <= 1 ms.
//!
//!     cargo bench --bench health
//!
//! HARDSTORE_BENCH_ENTRIES sets the audit log's size (default 1,000,000).

mod common;

use std::time::Instant;

use common::{env_or, fresh, p50_p99_us, scratch};
use hardstore::{Durability, Level, LogRecord, Options, Store};

fn fill(store: &Store, entries: u64) {
    let chunk = 10_000u64;
    let mut done = 0;
    while done < entries {
        let k = chunk.min(entries - done);
        let base = done;
        store
            .write(Durability::Buffered, move |tx| {
                for i in base..base + k {
                    let e =
                        hardstore::AuditEvent::new("acme", "order.paid").resource(format!("o/{i}"));
                    tx.audit_append(&e)?;
                }
                Ok(())
            })
            .unwrap();
        done += k;
    }
    for i in 0..100_000u64 {
        let level = if i % 50 == 0 {
            Level::Error
        } else {
            Level::Info
        };
        store
            .logs()
            .append(
                LogRecord::new(level, "GET /orders")
                    .endpoint("/orders")
                    .duration_us(800 + i % 5000),
                Durability::Buffered,
            )
            .unwrap();
    }
    store.flush().unwrap();
}

fn time(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f();
        v.push(t.elapsed());
    }
    p50_p99_us(v)
}

fn sqlite_health(path: &std::path::Path) -> (f64, f64) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE logs(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, level INTEGER NOT NULL,
                           duration_us INTEGER);
         CREATE INDEX logs_time ON logs(time);
         CREATE TABLE dlq(id INTEGER PRIMARY KEY, state INTEGER NOT NULL);
         CREATE INDEX dlq_state ON dlq(state);",
    )
    .unwrap();
    let now = 1_000_000_000i64;
    {
        let tx = c.unchecked_transaction().unwrap();
        let mut ins = tx
            .prepare("INSERT INTO logs(time, level, duration_us) VALUES (?1, ?2, ?3)")
            .unwrap();
        for i in 0..100_000i64 {
            // The newest 4,096 fall inside the 5-minute window, as hardstore samples.
            let t = if i >= 100_000 - 4096 {
                now - 1000
            } else {
                now - 3_600_000_000
            };
            let level = if i % 50 == 0 { 4 } else { 2 };
            ins.execute(rusqlite::params![t, level, 800 + i % 5000])
                .unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let from = now - 300_000_000;
    let mut counts = c
        .prepare("SELECT count(*), coalesce(sum(level >= 4), 0) FROM logs WHERE time >= ?1")
        .unwrap();
    let mut p95 = c
        .prepare("SELECT duration_us FROM logs WHERE time >= ?1 AND duration_us IS NOT NULL ORDER BY duration_us LIMIT 1 OFFSET ?2")
        .unwrap();
    let mut dead = c
        .prepare("SELECT count(*) FROM dlq WHERE state = 3")
        .unwrap();
    time(1000, || {
        let (n, errors): (i64, i64) = counts
            .query_row([from], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        let rank = (n * 95 + 99) / 100 - 1;
        let _p: i64 = p95.query_row([from, rank], |r| r.get(0)).unwrap();
        let _d: i64 = dead.query_row([], |r| r.get(0)).unwrap();
        assert!(errors <= n);
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = scratch("bench-health");
    let entries = env_or("HARDSTORE_BENCH_ENTRIES", 1_000_000);
    let path = fresh(&dir, "h.hardstore");
    let store = Store::open(&path, Options::new()).unwrap();
    let t = Instant::now();
    fill(&store, entries);
    println!(
        "\n== Health on {entries} audit entries and a full ring of 100,000 (filled in {:.1} s) ==",
        t.elapsed().as_secs_f64()
    );
    store.close().unwrap();
    let store = Store::open(&path, Options::new()).unwrap();
    let t = Instant::now();
    let first = store.health().unwrap();
    let first_s = t.elapsed().as_secs_f64();
    assert_eq!(
        first.component("audit").unwrap().value,
        Some(entries as f64)
    );
    let (p50, p99) = time(1000, || {
        store.health().unwrap();
    });
    let (sq50, sq99) = sqlite_health(&fresh(&dir, "health.db"));
    println!("  health(): p50 {p50:.0} us, p99 {p99:.0} us (target <= 1000 us)");
    println!("  sqlite, the same figures from indexed tables: p50 {sq50:.0} us, p99 {sq99:.0} us | ratio (p50) {:.2}x", sq50 / p50);
    println!("  the first health() after an open (verifies all {entries} entries): {first_s:.2} s");
    let t = Instant::now();
    let deep = store.health_deep().unwrap();
    println!(
        "  health_deep(): {:.2} s ({})",
        t.elapsed().as_secs_f64(),
        deep.component("integrity").unwrap().reason
    );
    for c in &store.health().unwrap().components {
        println!("    {:<15} {:<9} {}", c.name, c.status.as_str(), c.reason);
    }
    store.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
