//! Maintenance benchmark, side by side in one run: a run that deletes 100,000 expired
//! items (dead letters past their retention and resolved alerts past theirs, 50,000
//! each, from stores holding as many young ones that stay) in durable steps of 10,000,
//! versus SQLite (rusqlite, bundled, WAL, synchronous=FULL) deleting the same rows from
//! indexed tables in transactions of 10,000; and the cost of a run with nothing due.
//!
//!     cargo bench --bench maintenance
//!
//! HARDSTORE_BENCH_ITEMS sets the expired items per area (default 50,000).

mod common;

use std::time::{Duration, Instant};

use common::{env_or, fresh, p50_p99_us, scratch};
use hardstore::alerts::{NewAlert, Severity};
use hardstore::dead_letters::NewDeadLetter;
use hardstore::maintenance::MaintenanceOptions;
use hardstore::{Durability, ManualClock, Options, Store};

const DAY_US: u64 = 86_400_000_000;

fn fill(store: &Store, n: u64, tag: &str) {
    let chunk = 1000;
    let mut done = 0;
    while done < n {
        let k = chunk.min(n - done);
        let tag = tag.to_string();
        store
            .write(Durability::Buffered, move |tx| {
                for i in done..done + k {
                    let d = NewDeadLetter::new("acme", "webhook", vec![7; 200]).permanent(true);
                    tx.dlq_record(&d)?;
                    let a = NewAlert::new("acme", "app", format!("{tag}-{i}"), Severity::Info, "m");
                    let id = tx.alert_raise(&a)?.id;
                    tx.alert_resolve(id, "bot", "")?;
                }
                Ok(())
            })
            .unwrap();
        done += k;
    }
    store.flush().unwrap();
}

fn sqlite(path: &std::path::Path, n: i64) -> f64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE dlq(id INTEGER PRIMARY KEY, state INTEGER, finished INTEGER, payload BLOB);
         CREATE INDEX dlq_finished ON dlq(finished);
         CREATE TABLE alerts(id INTEGER PRIMARY KEY, dedup TEXT, state INTEGER, resolved INTEGER);
         CREATE INDEX alerts_resolved ON alerts(resolved);",
    )
    .unwrap();
    {
        let tx = c.unchecked_transaction().unwrap();
        let mut d = tx
            .prepare("INSERT INTO dlq(state, finished, payload) VALUES (3, ?1, ?2)")
            .unwrap();
        let mut a = tx
            .prepare("INSERT INTO alerts(dedup, state, resolved) VALUES (?1, 2, ?2)")
            .unwrap();
        for i in 0..2 * n {
            let at = if i < n { 1 } else { 100 };
            d.execute(rusqlite::params![at, vec![7u8; 200]]).unwrap();
            a.execute(rusqlite::params![format!("k{i}"), at]).unwrap();
        }
        drop((d, a));
        tx.commit().unwrap();
    }
    let started = Instant::now();
    for table in ["dlq", "alerts"] {
        let col = if table == "dlq" {
            "finished"
        } else {
            "resolved"
        };
        loop {
            let deleted = c
                .execute(
                    &format!("DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {col} <= 50 LIMIT 10000)"),
                    [],
                )
                .unwrap();
            if deleted == 0 {
                break;
            }
        }
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = scratch("bench-maintenance");
    let n = env_or("HARDSTORE_BENCH_ITEMS", 50_000);
    let clock = ManualClock::new(1_796_290_312_123_456);
    let store = Store::open(
        fresh(&dir, "m.hardstore"),
        Options::new()
            .clock(clock.clone())
            .dead_letter_purge_after(Duration::from_secs(86_400))
            .alert_retention(Duration::from_secs(86_400)),
    )
    .unwrap();
    fill(&store, n, "old");
    clock.advance(2 * DAY_US);
    fill(&store, n, "young");
    println!(
        "\n== Maintenance: {} expired items among {} (durable steps of 10,000) ==",
        2 * n,
        4 * n
    );
    let started = Instant::now();
    let (mut dlq, mut alerts, mut runs) = (0, 0, 0);
    loop {
        let r = store.maintenance(&MaintenanceOptions::new()).unwrap();
        dlq += r.dead_letters_purged;
        alerts += r.alerts_purged;
        runs += 1;
        if !r.more_due {
            break;
        }
    }
    let hs = started.elapsed().as_secs_f64();
    assert_eq!((dlq, alerts), (n, n));
    let sq = sqlite(&fresh(&dir, "m.db"), n as i64);
    println!(
        "  hardstore {hs:.2} s in {runs} runs ({:.0} items/s) | sqlite DELETE ... LIMIT 10000 {sq:.2} s ({:.0} items/s) | ratio {:.2}x",
        2.0 * n as f64 / hs,
        2.0 * n as f64 / sq,
        sq / hs
    );
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let r = store.maintenance(&MaintenanceOptions::new()).unwrap();
        times.push(t.elapsed());
        assert_eq!(r.dead_letters_purged + r.alerts_purged, 0);
    }
    let (p50, p99) = p50_p99_us(times);
    println!("  a run with nothing due: p50 {p50:.0} us, p99 {p99:.0} us (three durable writes that find nothing)");
    store.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
