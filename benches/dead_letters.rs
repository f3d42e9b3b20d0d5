//! Dead-letter benchmark, side by side in one run: workers that claim one due item and
//! ack it, both durable, at 1, 8 and 64 threads; hardstore versus SQLite (rusqlite,
//! bundled, WAL, synchronous=FULL, one connection per worker) holding the same queue as
//! a table with a due-time index, claiming in a `BEGIN IMMEDIATE` transaction and
//! acking in another. Ratios are printed. Target: at least 20,000 pairs/s at 64 threads.
//!
//!     cargo bench --bench dead_letters
//!
//! HARDSTORE_BENCH_SECS sets each scenario's duration (default 4 s);
//! HARDSTORE_BENCH_ITEMS the queue's size (default 300,000). HARDSTORE_BENCH_ONLY=N runs
//! only hardstore's N-thread scenarios, durable and in memory (for a profiler).

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{dlq_kind, dlq_payload, env_or, fill_dead_letters, fresh};
use hardstore::{Options, Store};

const LEASE: Duration = Duration::from_secs(300);

/// Runs `threads` workers for `secs`; worker `t` loops `step(t)` (one claim + ack) until
/// time is up or the queue is empty. Returns pairs per second.
fn drive(threads: u64, secs: u64, step: impl Fn(usize) -> bool + Sync) -> f64 {
    let stop = AtomicBool::new(false);
    let pairs = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads as usize {
            let (stop, pairs, step) = (&stop, &pairs, &step);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if !step(t) {
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                    pairs.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
    });
    pairs.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn hardstore_store(dir: &Path, items: u64) -> Store {
    let store = Store::open(fresh(dir, "dlq.hardstore"), Options::new()).unwrap();
    fill_dead_letters(&store, items);
    store
}

/// One hardstore run.
struct Run {
    /// Pairs per second.
    rate: f64,
    /// Writes per committed batch.
    batch: f64,
    /// CPU time per pair, µs, every thread of the process (the machine has few cores,
    /// so this is what bounds the rate).
    cpu: f64,
    /// Latency of one pair (claim + ack), ms: p50, p99, p99.9, max.
    latency: [f64; 4],
}

fn hardstore_pairs(store: &Store, threads: u64, secs: u64) -> Run {
    let before = store.write_stats();
    let cpu = common::process_cpu();
    let started = Instant::now();
    // One list per worker, so recording never contends.
    let lat: Vec<std::sync::Mutex<Vec<Duration>>> =
        (0..threads).map(|_| Default::default()).collect();
    let rate = drive(threads, secs, |t| {
        let dl = store.dead_letters();
        let begun = Instant::now();
        match dl.claim_due(1, LEASE).unwrap().pop() {
            Some(c) => {
                dl.ack(&c).unwrap();
                lat[t].lock().unwrap().push(begun.elapsed());
                true
            }
            None => false,
        }
    });
    let after = store.write_stats();
    let batch =
        (after.writes - before.writes) as f64 / (after.batches - before.batches).max(1) as f64;
    let pairs = rate * started.elapsed().as_secs_f64();
    let cpu = match (cpu, common::process_cpu()) {
        (Some(a), Some(b)) => (b - a).as_secs_f64() * 1e6 / pairs.max(1.0),
        _ => f64::NAN,
    };
    let mut all: Vec<Duration> = lat
        .into_iter()
        .flat_map(|m| m.into_inner().unwrap())
        .collect();
    all.sort();
    let at = |q: f64| {
        let i = ((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1));
        all.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    Run {
        rate,
        batch,
        cpu,
        latency: [at(0.5), at(0.99), at(0.999), at(1.0)],
    }
}

fn sqlite_db(dir: &Path, items: u64) -> PathBuf {
    let path = fresh(dir, "dlq.db");
    let mut c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE dead_letters(id INTEGER PRIMARY KEY, tenant TEXT, kind TEXT,
           payload BLOB, state INTEGER, attempts INTEGER, max_attempts INTEGER,
           due INTEGER, token INTEGER, finished INTEGER, last_error TEXT);
         CREATE INDEX dead_letters_due ON dead_letters(due);",
    )
    .unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO dead_letters(id, tenant, kind, payload, state, attempts,
                 max_attempts, due, token, last_error) VALUES (?1,'acme',?2,?3,0,0,5,0,0,?4)",
            )
            .unwrap();
        for k in 0..items {
            ins.execute(rusqlite::params![
                k as i64,
                dlq_kind(k),
                dlq_payload(k),
                "503 from upstream"
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    path
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn sqlite_pairs(path: &Path, threads: u64, secs: u64) -> f64 {
    let conns: Vec<std::sync::Mutex<rusqlite::Connection>> = (0..threads)
        .map(|_| {
            let c = rusqlite::Connection::open(path).unwrap();
            c.busy_timeout(Duration::from_secs(60)).unwrap();
            c.execute_batch("PRAGMA synchronous=FULL;").unwrap();
            std::sync::Mutex::new(c)
        })
        .collect();
    let lease = LEASE.as_micros() as i64;
    drive(threads, secs, |t| {
        // Each worker has a connection of its own; the mutex is never contended.
        let c = conns[t].lock().unwrap();
        // Claim: the oldest due item, leased and its attempt counted, in one transaction.
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        let now = now_us();
        let row: Option<(i64, Vec<u8>, i64)> = c
            .prepare_cached(
                "SELECT id, payload, token FROM dead_letters WHERE due <= ?1 ORDER BY due LIMIT 1",
            )
            .unwrap()
            .query_row([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ok();
        let Some((id, _payload, token)) = row else {
            c.execute_batch("COMMIT").unwrap();
            return false;
        };
        c.prepare_cached(
            "UPDATE dead_letters SET state = 1, attempts = attempts + 1, token = token + 1,
             due = ?2 WHERE id = ?1",
        )
        .unwrap()
        .execute([id, now + lease])
        .unwrap();
        c.execute_batch("COMMIT").unwrap();
        // Ack: only while this claim's lease is held (the token fences stale workers).
        let n = c
            .prepare_cached(
                "UPDATE dead_letters SET state = 2, due = NULL, finished = ?3
                 WHERE id = ?1 AND token = ?2 AND state = 1 AND due > ?3",
            )
            .unwrap()
            .execute([id, token + 1, now_us()])
            .unwrap();
        assert_eq!(n, 1);
        true
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hardstore-dlq-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secs = env_or("HARDSTORE_BENCH_SECS", 4);
    let items = env_or("HARDSTORE_BENCH_ITEMS", 300_000);

    println!("\n== Dead letters: claim 1 + ack, both durable, {items} queued, {secs} s per run ==");
    let store = hardstore_store(&dir, items);
    if let Some(threads) = std::env::var("HARDSTORE_BENCH_ONLY")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let r = hardstore_pairs(&store, threads, secs);
        let [p50, p99, p999, max] = r.latency;
        println!(
            "hardstore only, {threads} threads: {:.0} pairs/s, mean batch {:.1}, \
             {:.1} µs CPU/pair, pair latency p50 {p50:.2} p99 {p99:.2} p99.9 {p999:.2} \
             max {max:.2} ms",
            r.rate, r.batch, r.cpu
        );
        let mem = Store::in_memory(Options::new()).unwrap();
        fill_dead_letters(&mem, items);
        let r = hardstore_pairs(&mem, threads, secs);
        println!(
            "  in memory, {threads} threads: {:.0} pairs/s, mean batch {:.1}, {:.1} µs CPU/pair",
            r.rate, r.batch, r.cpu
        );
        store.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let db = sqlite_db(&dir, items);
    println!(
        "{:>8} {:>17} {:>10} {:>11} {:>16} {:>14} {:>10}",
        "threads",
        "hardstore pairs/s",
        "mean batch",
        "µs CPU/pair",
        "p99 / max ms",
        "sqlite pairs/s",
        "vs sqlite"
    );
    for threads in [1u64, 8, 64] {
        let r = hardstore_pairs(&store, threads, secs);
        let sq = sqlite_pairs(&db, threads, secs);
        let lat = format!("{:.1} / {:.1}", r.latency[1], r.latency[3]);
        println!(
            "{threads:>8} {:>17.0} {:>10.1} {:>11.1} {lat:>16} {sq:>14.0} {:>9.2}x",
            r.rate,
            r.batch,
            r.cpu,
            r.rate / sq
        );
    }
    let c = store.dead_letters().counts().unwrap();
    println!(
        "  hardstore after the runs: {} done, {} pending (counts read from counters)",
        c.done, c.pending
    );
    println!("  target: at least 20,000 pairs/s at 64 threads");
    // The same on an in-memory store: no fsync, so this is the CPU cost of a pair.
    let mem = Store::in_memory(Options::new()).unwrap();
    fill_dead_letters(&mem, 100_000);
    for threads in [1u64, 64] {
        let r = hardstore_pairs(&mem, threads, 2);
        println!(
            "  in memory (no fsync), {threads:>2} threads: {:>8.0} pairs/s, mean batch \
             {:.1}, {:.1} µs CPU/pair",
            r.rate, r.batch, r.cpu
        );
    }
    store.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
