//! Alerts benchmark, side by side in one run: durable raises of 1,000 alerts that keep
//! repeating (a raise finds the alert not resolved under its tenant and dedup key and
//! counts on it, with its audit entry, in one transaction), at 1, 8 and 64 threads;
//! hardstore versus SQLite (rusqlite, bundled, WAL, synchronous=FULL, one connection per
//! thread) doing the same as a hand-rolled table (an UPSERT on a partial unique index of
//! unresolved alerts plus an audit row, in one transaction) versus raw redb (read the
//! row, write it back counted, one transaction). Then a page of 100 open alerts, read.
//!
//!     cargo bench --bench alerts
//!
//! HARDSTORE_BENCH_SECS sets each scenario's duration (default 3 s).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{env_or, fresh, run_for, scratch};
use hardstore::alerts::{AlertQuery, AlertScope, NewAlert, Severity};
use hardstore::{Durability, Options, Store};
use redb::{ReadableTable, TableDefinition};

const KEYS: u64 = 1000;
const RAW: TableDefinition<&str, (u64, u64)> = TableDefinition::new("raw_alerts");

fn key(t: u64, i: u64) -> String {
    format!("check-{}", (t * 7919 + i) % KEYS)
}

fn alert(k: String) -> NewAlert {
    NewAlert::new(
        "acme",
        "health",
        k,
        Severity::Warning,
        "p95 latency over 250 ms",
    )
}

fn sqlite(path: &Path, threads: u64, secs: u64) -> f64 {
    {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE alerts(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL,
               dedup_key TEXT NOT NULL, source TEXT, severity INTEGER, message TEXT,
               state INTEGER NOT NULL DEFAULT 0, count INTEGER NOT NULL DEFAULT 1,
               first_seen INTEGER, last_seen INTEGER);
             CREATE UNIQUE INDEX open_alerts ON alerts(tenant, dedup_key) WHERE state < 2;
             CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, record BLOB NOT NULL);",
        )
        .unwrap();
    }
    let conns: Vec<_> = (0..threads)
        .map(|_| {
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute_batch("PRAGMA synchronous=FULL;").unwrap();
            c.busy_timeout(Duration::from_secs(60)).unwrap();
            parking_lot::Mutex::new(c)
        })
        .collect();
    run_for(threads, secs, |t, i| {
        let mut c = conns[t as usize].lock();
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let k = key(t, i);
        tx.execute(
            "INSERT INTO alerts(tenant, dedup_key, source, severity, message, first_seen, last_seen)
             VALUES ('acme', ?1, 'health', 1, 'p95 latency over 250 ms', ?2, ?2)
             ON CONFLICT(tenant, dedup_key) WHERE state < 2
             DO UPDATE SET count = count + 1, last_seen = excluded.last_seen,
               severity = excluded.severity, message = excluded.message",
            rusqlite::params![k, i as i64],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO audit(record) VALUES (?1)",
            [format!("acme|health|alert.raise|{k}|warning")],
        )
        .unwrap();
        tx.commit().unwrap();
    })
}

fn raw_redb(path: &Path, threads: u64, secs: u64) -> f64 {
    let db = redb::Database::create(path).unwrap();
    run_for(threads, secs, |t, i| {
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(RAW).unwrap();
            let k = key(t, i);
            let (count, _) = table.get(k.as_str()).unwrap().map_or((0, 0), |g| g.value());
            table.insert(k.as_str(), (count + 1, i)).unwrap();
        }
        txn.commit().unwrap();
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = scratch("bench-alerts");
    let secs = env_or("HARDSTORE_BENCH_SECS", 3);
    println!(
        "\n== Durable alert raise (1,000 alerts repeating, each raise audited), {secs} s each =="
    );
    println!(
        "{:>8} {:>14} {:>14} {:>14} {:>10} {:>10}",
        "threads", "hardstore/s", "sqlite/s", "raw redb/s", "vs sqlite", "vs redb"
    );
    for threads in [1u64, 8, 64] {
        let store = Store::open(fresh(&dir, "hs.hardstore"), Options::new()).unwrap();
        let hs = run_for(threads, secs, |t, i| {
            store
                .alerts()
                .raise(alert(key(t, i)), Durability::Durable)
                .unwrap();
        });
        store.close().unwrap();
        let sq = sqlite(&fresh(&dir, "sqlite.db"), threads, secs);
        let raw = raw_redb(&fresh(&dir, "raw.redb"), threads, secs);
        println!(
            "{threads:>8} {hs:>14.0} {sq:>14.0} {raw:>14.0} {:>9.2}x {:>9.2}x",
            hs / sq,
            hs / raw
        );
    }

    println!("\n== A page of 100 open alerts out of 1,000 ==");
    let store = Store::open(fresh(&dir, "hs.hardstore"), Options::new()).unwrap();
    for i in 0..KEYS {
        store
            .alerts()
            .raise(alert(key(0, i)), Durability::Buffered)
            .unwrap();
    }
    store.flush().unwrap();
    let q = AlertQuery::new(AlertScope::Open).limit(100);
    let n = 2000;
    let started = Instant::now();
    for _ in 0..n {
        assert_eq!(store.alerts().list(&q).unwrap().alerts.len(), 100);
    }
    let hs_us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    store.close().unwrap();
    let path = fresh(&dir, "sqlite.db");
    sqlite(&path, 1, 1);
    let c = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = c
        .prepare("SELECT id, tenant, dedup_key, source, severity, message, state, count, first_seen, last_seen FROM alerts WHERE state < 2 ORDER BY id DESC LIMIT 100")
        .unwrap();
    let started = Instant::now();
    for _ in 0..n {
        let rows: Vec<(i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!rows.is_empty());
    }
    let sq_us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "  list: hardstore {hs_us:.1} us | sqlite {sq_us:.1} us | ratio {:.2}x",
        sq_us / hs_us
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
