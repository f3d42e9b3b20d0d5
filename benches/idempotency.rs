//! Idempotency benchmarks, side by side in one run: hardstore vs SQLite (rusqlite,
//! bundled, WAL, synchronous=FULL), with ratios.
//!
//!     cargo bench --bench idempotency
//!
//! - begin + complete, one request each, at 1, 8 and 64 threads. hardstore: `begin`
//!   claims the key in memory (losing it in a crash only means the retry starts afresh)
//!   and `complete` commits durably, group-committed. SQLite: the same two statements,
//!   each its own transaction (an INSERT of the in-progress key, an UPDATE caching the
//!   response), as a hand-rolled table does it.
//! - Replay of a completed key: `begin` on it (hardstore answers from a read snapshot)
//!   vs a SELECT of the cached response; latency p50 / p99 and rate on one thread.
//!
//! HARDSTORE_BENCH_SECS sets the seconds per throughput scenario (default 3).

mod common;

use std::time::{Duration, Instant};

use common::{env_or, fresh, p50_p99_us, run_for, scratch};
use hardstore::{Begin, Options, Store};

const LEASE: Duration = Duration::from_secs(60);
/// A typical JSON response body.
const RESPONSE: &[u8] =
    br#"{"id":"ord_1234567890","status":"created","amount":12000,"currency":"EUR"}"#;

fn request(t: u64, i: u64) -> Vec<u8> {
    format!("POST /orders\n{{\"client\":{t},\"n\":{i},\"sku\":\"A-42\"}}").into_bytes()
}

fn sqlite_open(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .unwrap();
    c.busy_timeout(Duration::from_secs(60)).unwrap();
    c
}

fn sqlite_schema(path: &std::path::Path) {
    sqlite_open(path)
        .execute_batch(
            "CREATE TABLE idem(tenant TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL,
               state INTEGER NOT NULL, lease_until INTEGER NOT NULL, expires INTEGER NOT NULL,
               status INTEGER, body BLOB, PRIMARY KEY (tenant, key)) WITHOUT ROWID;",
        )
        .unwrap();
}

fn sqlite_begin(c: &rusqlite::Connection, key: &str, req: &[u8]) {
    let fp = blake3::hash(req);
    c.prepare_cached(
        "INSERT INTO idem(tenant, key, fingerprint, state, lease_until, expires)
         VALUES ('acme', ?1, ?2, 0, 0, 0) ON CONFLICT DO NOTHING",
    )
    .unwrap()
    .execute(rusqlite::params![key, fp.as_bytes().as_slice()])
    .unwrap();
}

fn sqlite_complete(c: &rusqlite::Connection, key: &str) {
    c.prepare_cached(
        "UPDATE idem SET state = 1, status = 201, body = ?2 WHERE tenant = 'acme' AND key = ?1",
    )
    .unwrap()
    .execute(rusqlite::params![key, RESPONSE])
    .unwrap();
}

fn begin_complete(dir: &std::path::Path, secs: u64) {
    println!("\n== begin + complete (complete durable), {secs} s each ==");
    println!(
        "{:>8} {:>14} {:>14} {:>10} {:>12}",
        "threads", "hardstore/s", "sqlite/s", "vs sqlite", "mean batch"
    );
    for threads in [1u64, 8, 64] {
        let (hs, batch) = {
            let store = Store::open(fresh(dir, "hs.hardstore"), Options::new()).unwrap();
            let before = store.write_stats();
            let r = run_for(threads, secs, |t, i| {
                let idem = store.idempotency();
                let key = format!("{t}-{i}");
                let Begin::Started(token) =
                    idem.begin("acme", &key, &request(t, i), LEASE).unwrap()
                else {
                    panic!("a fresh key starts")
                };
                idem.complete(&token, Some(201), RESPONSE).unwrap();
            });
            let after = store.write_stats();
            let batch = (after.writes - before.writes) as f64
                / (after.batches - before.batches).max(1) as f64;
            store.close().unwrap();
            (r, batch)
        };
        let sqlite = {
            let path = fresh(dir, "sqlite.db");
            sqlite_schema(&path);
            let conns: Vec<_> = (0..threads)
                .map(|_| parking_lot::Mutex::new(sqlite_open(&path)))
                .collect();
            run_for(threads, secs, |t, i| {
                let c = conns[t as usize].lock();
                let key = format!("{t}-{i}");
                sqlite_begin(&c, &key, &request(t, i));
                sqlite_complete(&c, &key);
            })
        };
        println!(
            "{threads:>8} {hs:>14.0} {sqlite:>14.0} {:>9.2}x {batch:>12.1}",
            hs / sqlite
        );
    }
}

/// begin + complete on an in-memory store: no fsync, so this is the CPU cost.
fn in_memory(secs: u64) {
    for threads in [1u64, 64] {
        let store = Store::in_memory(Options::new()).unwrap();
        let r = run_for(threads, secs, |t, i| {
            let idem = store.idempotency();
            let key = format!("{t}-{i}");
            let Begin::Started(token) = idem.begin("acme", &key, &request(t, i), LEASE).unwrap()
            else {
                panic!("a fresh key starts")
            };
            idem.complete(&token, Some(201), RESPONSE).unwrap();
        });
        println!("  in memory (no fsync), {threads:>2} threads: {r:>8.0} requests/s");
    }
}

fn replay(dir: &std::path::Path) {
    const KEYS: u64 = 10_000;
    const LOOKUPS: u64 = 200_000;
    println!("\n== Replay of a completed key ({KEYS} keys, {LOOKUPS} lookups, 1 thread) ==");
    let store = Store::open(fresh(dir, "replay.hardstore"), Options::new()).unwrap();
    for i in 0..KEYS {
        let key = format!("k{i}");
        let Begin::Started(t) = store
            .idempotency()
            .begin("acme", &key, &request(0, i), LEASE)
            .unwrap()
        else {
            panic!("a fresh key starts")
        };
        store
            .idempotency()
            .complete(&t, Some(201), RESPONSE)
            .unwrap();
    }
    let path = fresh(dir, "replay.db");
    sqlite_schema(&path);
    let c = sqlite_open(&path);
    c.execute_batch("BEGIN").unwrap();
    for i in 0..KEYS {
        let key = format!("k{i}");
        sqlite_begin(&c, &key, &request(0, i));
        sqlite_complete(&c, &key);
    }
    c.execute_batch("COMMIT").unwrap();
    let keys: Vec<(String, Vec<u8>)> = (0..KEYS)
        .map(|i| (format!("k{i}"), request(0, i)))
        .collect();

    let mut hs_lat = Vec::with_capacity(LOOKUPS as usize);
    let idem = store.idempotency();
    let started = Instant::now();
    for n in 0..LOOKUPS {
        let (key, req) = &keys[(n * 7919 % KEYS) as usize];
        let t = Instant::now();
        let b = idem.begin("acme", key, req, LEASE).unwrap();
        hs_lat.push(t.elapsed());
        assert!(matches!(b, Begin::Replay(ref r) if r.body == RESPONSE));
    }
    let hs_rate = LOOKUPS as f64 / started.elapsed().as_secs_f64();

    let mut sq_lat = Vec::with_capacity(LOOKUPS as usize);
    let started = Instant::now();
    for n in 0..LOOKUPS {
        let (key, req) = &keys[(n * 7919 % KEYS) as usize];
        let t = Instant::now();
        // What a hand-rolled table does: fetch the row, compare the fingerprint, return
        // the cached response.
        let fp = blake3::hash(req);
        let (stored_fp, status, body): (Vec<u8>, i64, Vec<u8>) = c
            .prepare_cached(
                "SELECT fingerprint, status, body FROM idem WHERE tenant = 'acme' AND key = ?1",
            )
            .unwrap()
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        sq_lat.push(t.elapsed());
        assert!(stored_fp == fp.as_bytes() && status == 201 && body == RESPONSE);
    }
    let sq_rate = LOOKUPS as f64 / started.elapsed().as_secs_f64();
    let (hp50, hp99) = p50_p99_us(hs_lat);
    let (sp50, sp99) = p50_p99_us(sq_lat);
    println!(
        "{:>10} {:>10} {:>10} {:>14}",
        "", "p50 µs", "p99 µs", "lookups/s"
    );
    println!(
        "{:>10} {hp50:>10.2} {hp99:>10.2} {hs_rate:>14.0}",
        "hardstore"
    );
    println!("{:>10} {sp50:>10.2} {sp99:>10.2} {sq_rate:>14.0}", "sqlite");
    println!(
        "{:>10} {:>10} {:>10} {:>13.2}x",
        "ratio",
        "",
        "",
        hs_rate / sq_rate
    );
    store.close().unwrap();
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = scratch("idempotency-bench");
    let secs = env_or("HARDSTORE_BENCH_SECS", 3);
    // HARDSTORE_BENCH_ONLY=memory|replay|throughput runs one scenario (for profiling).
    let only = std::env::var("HARDSTORE_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    if run("throughput") {
        begin_complete(&dir, secs);
    }
    if run("memory") {
        in_memory(secs);
    }
    if run("replay") {
        replay(&dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
