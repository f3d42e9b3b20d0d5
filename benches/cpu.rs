//! CPU per operation, in memory (no fsync, so CPU is all an operation costs), side by side
//! in one run: hardstore's audit append, idempotency begin + complete and dead-letter
//! claim + ack at 1 and 64 threads, against raw redb doing one row insert in a
//! non-durable write transaction of its own, and SQLite (rusqlite, bundled, in memory,
//! one INSERT per transaction). Ratios are printed against raw redb.
//!
//!     cargo bench --bench cpu
//!
//! It ends with what raw redb spends per commit by the pages the commit dirties: the cost
//! that decides an operation's (see README, "What an operation costs").
//!
//! HARDSTORE_BENCH_SECS sets the seconds per scenario (default 2). HARDSTORE_BENCH_ONLY
//! (audit, idem, dlq, empty, redb or pages) and HARDSTORE_BENCH_THREADS run one
//! scenario, for a profiler.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{env_or, fill_dead_letters, process_cpu, run_for};
use hardstore::{AuditEvent, Begin, Durability, Options, Store};
use redb::TableDefinition;

const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw");
const LEASE: Duration = Duration::from_secs(300);
const RESPONSE: &[u8] =
    br#"{"id":"ord_1234567890","status":"created","amount":12000,"currency":"EUR"}"#;

fn event(t: u64, i: u64) -> AuditEvent {
    AuditEvent::new("acme", "invoice.update")
        .actor(format!("user:{t}"))
        .resource(format!("invoice/{i}"))
        .outcome("success")
        .ip("203.0.113.7")
        .detail("amount", "120.00")
}

fn request(t: u64, i: u64) -> Vec<u8> {
    format!("POST /orders\n{{\"client\":{t},\"n\":{i},\"sku\":\"A-42\"}}").into_bytes()
}

/// Rate (ops/s) and CPU per operation (µs, every thread of the process) of `op`.
fn measure(threads: u64, secs: u64, op: impl Fn(u64, u64) + Sync) -> (f64, f64) {
    let cpu = process_cpu();
    let started = std::time::Instant::now();
    let rate = run_for(threads, secs, op);
    let ops = rate * started.elapsed().as_secs_f64();
    let us = match (cpu, process_cpu()) {
        (Some(a), Some(b)) => (b - a).as_secs_f64() * 1e6 / ops.max(1.0),
        _ => f64::NAN,
    };
    (rate, us)
}

fn audit(threads: u64, secs: u64) -> (f64, f64) {
    let store = Store::in_memory(Options::new()).unwrap();
    let r = measure(threads, secs, |t, i| {
        store
            .audit()
            .append(event(t, i), Durability::Durable)
            .unwrap();
    });
    store.close().unwrap();
    r
}

fn idem(threads: u64, secs: u64) -> (f64, f64) {
    let store = Store::in_memory(Options::new()).unwrap();
    let r = measure(threads, secs, |t, i| {
        let idem = store.idempotency();
        let key = format!("{t}-{i}");
        let Begin::Started(token) = idem.begin("acme", &key, &request(t, i), LEASE).unwrap() else {
            panic!("a fresh key starts")
        };
        idem.complete(&token, Some(201), RESPONSE).unwrap();
    });
    store.close().unwrap();
    r
}

fn dlq(threads: u64, secs: u64) -> (f64, f64) {
    let store = Store::in_memory(Options::new()).unwrap();
    // More than any run claims: a worker that finds the queue empty would spin.
    fill_dead_letters(&store, 200_000);
    let r = measure(threads, secs, |_, _| {
        let dl = store.dead_letters();
        let c = dl
            .claim_due(1, LEASE)
            .unwrap()
            .pop()
            .expect("an item is due");
        dl.ack(&c).unwrap();
    });
    store.close().unwrap();
    r
}

/// An empty durable write: what the write path costs before any area's work.
fn empty(threads: u64, secs: u64) -> (f64, f64) {
    let store = Store::in_memory(Options::new()).unwrap();
    let r = measure(threads, secs, |_, _| {
        store.write(Durability::Durable, |_| Ok(())).unwrap();
    });
    store.close().unwrap();
    r
}

/// One row insert per non-durable redb write transaction: the floor a write pays.
fn redb_row(threads: u64, secs: u64) -> (f64, f64) {
    let db = redb::Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    let next = AtomicU64::new(0);
    measure(threads, secs, |t, i| {
        let mut txn = db.begin_write().unwrap();
        txn.set_durability(redb::Durability::None).unwrap();
        {
            let mut table = txn.open_table(RAW).unwrap();
            let seq = next.fetch_add(1, Ordering::Relaxed);
            let rec = format!("acme|user:{t}|invoice.update|invoice/{i}|success");
            table.insert(seq, rec.as_bytes()).unwrap();
        }
        txn.commit().unwrap();
    })
}

const TABLES: [TableDefinition<u64, &[u8]>; 4] = [
    TableDefinition::new("t0"),
    TableDefinition::new("t1"),
    TableDefinition::new("t2"),
    TableDefinition::new("t3"),
];

/// Raw redb, one non-durable write transaction per operation writing `rows` rows of
/// ~50 bytes into each of `tables` tables, keys `spread` over the table (each row in
/// a leaf of its own) or adjacent (one leaf): what a commit costs per page it dirties.
fn redb_pages(secs: u64, tables: usize, rows: u64, spread: bool) -> (f64, f64) {
    let db = redb::Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    let next = AtomicU64::new(0);
    measure(1, secs, |t, i| {
        let mut txn = db.begin_write().unwrap();
        txn.set_durability(redb::Durability::None).unwrap();
        let seq = next.fetch_add(1, Ordering::Relaxed);
        let rec = format!("acme|user:{t}|invoice.update|invoice/{i}|success");
        for def in &TABLES[..tables] {
            let mut table = txn.open_table(*def).unwrap();
            for r in 0..rows {
                let key = if spread {
                    seq + (r << 40)
                } else {
                    seq * 16 + r
                };
                table.insert(key, rec.as_bytes()).unwrap();
            }
        }
        txn.commit().unwrap();
    })
}

fn pages(secs: u64) {
    println!("\n== raw redb: CPU per commit by pages dirtied, 1 thread, in memory ==");
    for (name, tables, rows, spread) in [
        ("1 row", 1, 1, false),
        ("4 adjacent rows, 1 table", 1, 4, false),
        ("4 spread rows, 1 table", 1, 4, true),
        ("1 row in each of 4 tables", 4, 1, false),
    ] {
        let (rate, us) = redb_pages(secs, tables, rows, spread);
        println!("{name:<28} {rate:>10.0} commits/s {us:>8.1} µs CPU each");
    }
}

/// One INSERT per transaction on an in-memory SQLite database, one connection.
fn sqlite_row(threads: u64, secs: u64) -> (f64, f64) {
    let c = rusqlite::Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t(seq INTEGER PRIMARY KEY AUTOINCREMENT, record BLOB);")
        .unwrap();
    let c = parking_lot::Mutex::new(c);
    measure(threads, secs, |t, i| {
        let rec = format!("acme|user:{t}|invoice.update|invoice/{i}|success");
        c.lock()
            .prepare_cached("INSERT INTO t(record) VALUES (?1)")
            .unwrap()
            .execute([rec.as_bytes()])
            .unwrap();
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs = env_or("HARDSTORE_BENCH_SECS", 2);
    if let Ok(only) = std::env::var("HARDSTORE_BENCH_ONLY") {
        let threads = env_or("HARDSTORE_BENCH_THREADS", 1);
        let (rate, us) = match only.as_str() {
            "audit" => audit(threads, secs),
            "idem" => idem(threads, secs),
            "dlq" => dlq(threads, secs),
            "redb" => redb_row(threads, secs),
            "empty" => empty(threads, secs),
            "pages" => {
                pages(secs);
                return;
            }
            other => panic!("HARDSTORE_BENCH_ONLY={other}: audit, idem, dlq, empty, redb or pages"),
        };
        println!("{only}, {threads} threads: {rate:.0}/s, {us:.1} µs CPU per operation");
        return;
    }
    println!("\n== CPU per operation, in memory, {secs} s each ==");
    println!(
        "{:<24} {:>8} {:>12} {:>12} {:>14} {:>10}",
        "operation", "threads", "ops/s", "µs CPU/op", "vs redb row", "target µs"
    );
    for threads in [1u64, 64] {
        let (redb_rate, redb_us) = redb_row(threads, secs);
        let row = |name: &str, (rate, us): (f64, f64), target: &str| {
            let target = if threads == 64 { target } else { "-" };
            println!(
                "{name:<24} {threads:>8} {rate:>12.0} {us:>12.1} {:>13.2}x {target:>10}",
                us / redb_us
            );
        };
        row("raw redb row + commit", (redb_rate, redb_us), "-");
        row("sqlite row + commit", sqlite_row(threads, secs), "-");
        row("empty durable write", empty(threads, secs), "-");
        row("audit append", audit(threads, secs), "10");
        row("begin + complete", idem(threads, secs), "15");
        row("claim + ack", dlq(threads, secs), "25");
    }
    println!("  target, 1 thread: claim + ack at least 15,000 pairs/s");
    pages(secs);
}
