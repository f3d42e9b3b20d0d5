//! Webhook-outbox benchmark, side by side in one run:
//! 1. What an enqueue adds to the durable write it joins: an app-state put (200 bytes)
//!    alone against the same put plus `outbox_enqueue` in one write, at 1 and 8 threads
//!    (target: at most +10%); and SQLite (WAL, synchronous=FULL) doing an app row plus an
//!    outbox row in one transaction.
//! 2. Delivery: claim + ack of one message at a time (both durable) against the
//!    dead-letter area's claim + ack in the same run, and SQLite's hand-rolled outbox
//!    (SELECT the oldest due row, UPDATE its lease, then DELETE it; each a transaction).
//!
//!     cargo bench --bench webhooks

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{env_or, fresh, run_for, scratch};
use hardstore::dead_letters::NewDeadLetter;
use hardstore::webhooks::Secret;
use hardstore::{Durability, Options, Store};

fn sqlite_open(path: &std::path::Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE app(k TEXT PRIMARY KEY, v BLOB);
         CREATE TABLE outbox(id INTEGER PRIMARY KEY, endpoint TEXT, type TEXT, payload BLOB,
                             attempts INTEGER, due INTEGER, lease INTEGER);
         CREATE INDEX outbox_due ON outbox(due);",
    )
    .unwrap();
    db
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = scratch("bench-webhooks");
    let secs = env_or("HARDSTORE_BENCH_SECS", 2);
    let value = vec![7u8; 200];
    let payload = br#"{"type":"order.paid","data":{"id":1001,"amount":"120.00"}}"#.to_vec();

    println!("\n== A durable write with and without an outbox enqueue, {secs} s each ==");
    println!(
        "{:>8} {:>14} {:>14} {:>9} {:>14} {:>10}",
        "threads", "put/s", "put+enq/s", "added", "sqlite/s", "vs sqlite"
    );
    for threads in [1u64, 8] {
        let store = Store::open(fresh(&dir, "hs.hardstore"), Options::new()).unwrap();
        store
            .webhooks()
            .put_endpoint(
                "acme",
                "orders",
                "https://acme.example/h",
                &[Secret::generate().unwrap()],
            )
            .unwrap();
        // Alternating rounds on one store (a disk's fsync time drifts over seconds):
        // the medians are compared.
        let (mut alone_r, mut joined_r) = (Vec::new(), Vec::new());
        for round in 0..3u64 {
            let v = value.clone();
            alone_r.push(run_for(threads, secs, |t, i| {
                let v = v.clone();
                store
                    .write(Durability::Durable, move |tx| {
                        tx.kv_put("orders", format!("{round}/{t}/{i}").as_bytes(), &v)
                    })
                    .unwrap();
            }));
            let (v, p) = (value.clone(), payload.clone());
            joined_r.push(run_for(threads, secs, |t, i| {
                let (v, p) = (v.clone(), p.clone());
                store
                    .write(Durability::Durable, move |tx| {
                        tx.kv_put("orders", format!("e{round}/{t}/{i}").as_bytes(), &v)?;
                        tx.outbox_enqueue("acme", "orders", "order.paid", &p)?;
                        Ok(())
                    })
                    .unwrap();
            }));
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        println!(
            "{threads:>8} rounds: put {:?}, put+enq {:?}",
            alone_r.iter().map(|x| *x as u64).collect::<Vec<_>>(),
            joined_r.iter().map(|x| *x as u64).collect::<Vec<_>>()
        );
        let (alone, joined) = (median(&mut alone_r), median(&mut joined_r));
        store.close().unwrap();
        let db = Mutex::new(sqlite_open(&fresh(&dir, "outbox.sqlite")));
        let sq = run_for(threads, secs, |t, i| {
            let db = db.lock().unwrap();
            let tx = db.unchecked_transaction().unwrap();
            tx.execute(
                "INSERT OR REPLACE INTO app VALUES (?1, ?2)",
                rusqlite::params![format!("{t}/{i}"), value],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO outbox(endpoint, type, payload, attempts, due, lease) VALUES ('orders', 'order.paid', ?1, 0, 0, 0)",
                [&payload],
            )
            .unwrap();
            tx.commit().unwrap();
        });
        println!(
            "{threads:>8} {alone:>14.0} {joined:>14.0} {:>8.1}% {sq:>14.0} {:>9.2}x",
            (alone / joined - 1.0) * 100.0,
            joined / sq
        );
    }

    // The same on an in-memory store: no fsync, so what the enqueue costs in CPU shows.
    let mem = Store::in_memory(Options::new()).unwrap();
    mem.webhooks()
        .put_endpoint(
            "acme",
            "orders",
            "https://acme.example/h",
            &[Secret::generate().unwrap()],
        )
        .unwrap();
    let (mut a, mut j) = (Vec::new(), Vec::new());
    for round in 0..3u64 {
        let v = value.clone();
        a.push(run_for(1, secs, |t, i| {
            let v = v.clone();
            mem.write(Durability::Durable, move |tx| {
                tx.kv_put("orders", format!("{round}/{t}/{i}").as_bytes(), &v)
            })
            .unwrap();
        }));
        let (v, p) = (value.clone(), payload.clone());
        j.push(run_for(1, secs, |t, i| {
            let (v, p) = (v.clone(), p.clone());
            mem.write(Durability::Durable, move |tx| {
                tx.kv_put("orders", format!("e{round}/{t}/{i}").as_bytes(), &v)?;
                tx.outbox_enqueue("acme", "orders", "order.paid", &p)?;
                Ok(())
            })
            .unwrap();
        }));
    }
    a.sort_by(|x, y| x.partial_cmp(y).unwrap());
    j.sort_by(|x, y| x.partial_cmp(y).unwrap());
    println!(
        "in memory, 1 thread: put {:.1} µs, put + enqueue {:.1} µs of wall time (+{:.1} µs)",
        1e6 / a[1],
        1e6 / j[1],
        1e6 / j[1] - 1e6 / a[1]
    );

    println!("\n== Delivery: claim + ack of one message, both durable, 1 thread, {secs} s each ==");
    let n = 20_000u64;
    let store = Store::open(fresh(&dir, "deliver.hardstore"), Options::new()).unwrap();
    store
        .webhooks()
        .put_endpoint(
            "acme",
            "orders",
            "https://acme.example/h",
            &[Secret::generate().unwrap()],
        )
        .unwrap();
    for chunk in 0..(n / 1000) {
        let p = payload.clone();
        store
            .write(Durability::Durable, move |tx| {
                for _ in 0..1000 {
                    tx.outbox_enqueue("acme", "orders", "order.paid", &p)?;
                }
                let _ = chunk;
                Ok(())
            })
            .unwrap();
        for _ in 0..1000 {
            store
                .dead_letters()
                .record(
                    NewDeadLetter::new("acme", "email", payload.clone()),
                    Durability::Buffered,
                )
                .unwrap();
        }
    }
    let w = store.webhooks();
    let started = Instant::now();
    let mut pairs = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        let d = w.claim_due(1, Duration::from_secs(30)).unwrap().remove(0);
        w.ack(&d).unwrap();
        pairs += 1;
    }
    let hs = pairs as f64 / started.elapsed().as_secs_f64();
    let dl = store.dead_letters();
    let started = Instant::now();
    let mut pairs = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        let c = dl.claim_due(1, Duration::from_secs(30)).unwrap().remove(0);
        dl.ack(&c).unwrap();
        pairs += 1;
    }
    let dlq = pairs as f64 / started.elapsed().as_secs_f64();
    store.close().unwrap();
    let db = sqlite_open(&fresh(&dir, "deliver.sqlite"));
    {
        let tx = db.unchecked_transaction().unwrap();
        for _ in 0..n {
            tx.execute(
                "INSERT INTO outbox(endpoint, type, payload, attempts, due, lease) VALUES ('orders', 'order.paid', ?1, 0, 0, 0)",
                [&payload],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let started = Instant::now();
    let mut pairs = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        let tx = db.unchecked_transaction().unwrap();
        let (id, _p): (i64, Vec<u8>) = tx
            .query_row(
                "SELECT id, payload FROM outbox WHERE due <= ?1 ORDER BY due LIMIT 1",
                [i64::MAX],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, lease = 1, due = ?2 WHERE id = ?1",
            rusqlite::params![id, i64::MAX],
        )
        .unwrap();
        tx.commit().unwrap();
        db.execute("DELETE FROM outbox WHERE id = ?1", [id])
            .unwrap();
        pairs += 1;
    }
    let sq = pairs as f64 / started.elapsed().as_secs_f64();
    println!("hardstore outbox claim + ack   {hs:>10.0} pairs/s");
    println!(
        "hardstore dead letters         {dlq:>10.0} pairs/s   outbox {:.2}x",
        hs / dlq
    );
    println!(
        "SQLite hand-rolled outbox      {sq:>10.0} pairs/s   outbox {:.2}x",
        hs / sq
    );
}
