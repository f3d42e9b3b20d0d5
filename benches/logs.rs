//! Log ring benchmarks, side by side in one run: hardstore vs SQLite (rusqlite, bundled,
//! WAL, synchronous=NORMAL, the ring as an upsert on slot = seq % N, committed in the
//! same batch sizes hardstore's group commit produced), with ratios.
//!
//!     cargo bench --bench logs
//!
//! HARDSTORE_BENCH_RING sets the ring size (default 100,000); HARDSTORE_BENCH_APPENDS the
//! appends per scenario (default 300,000).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{env_or, fresh};
use hardstore::logs::{Level, LogQuery, LogRecord};
use hardstore::{Durability, Options, Store};

const ENDPOINTS: [&str; 20] = [
    "GET /",
    "GET /login",
    "POST /login",
    "GET /cart",
    "POST /cart",
    "POST /checkout",
    "GET /orders",
    "GET /orders/:id",
    "POST /orders",
    "GET /search",
    "GET /product/:id",
    "GET /health",
    "POST /webhook",
    "GET /account",
    "PUT /account",
    "GET /invoices",
    "POST /refund",
    "GET /shipping",
    "POST /coupon",
    "DELETE /cart/:id",
];

/// A realistic mix: 5% errors, 20 endpoints, 2% of messages mention "timeout".
fn record(i: u64) -> LogRecord {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    let level = match h % 100 {
        0..=4 => Level::Error,
        5..=14 => Level::Warn,
        15..=29 => Level::Debug,
        _ => Level::Info,
    };
    let msg = if h % 50 == 7 {
        format!("upstream timeout after 3 retries on request {i}")
    } else {
        format!("handled request {i} in the usual way with status ok")
    };
    LogRecord::new(level, msg)
        .target("shop::http")
        .tenant(["acme", "globex", "initech"][(h % 3) as usize])
        .user(format!("user-{}", h % 1000))
        .endpoint(ENDPOINTS[(h % 20) as usize])
        .status(if level == Level::Error { 502 } else { 200 })
        .duration_us(200 + h % 50_000)
        .field("request_id", format!("{i:016x}"))
}

fn hardstore_append(dir: &Path, ring: u64, n: u64, threads: u64) -> (f64, f64, Store) {
    let store = Store::open(
        fresh(dir, &format!("logs-{threads}.hardstore")),
        Options::new().log_capacity(ring),
    )
    .unwrap();
    // Fill the ring first, so every measured append also evicts.
    for i in 0..ring {
        store
            .logs()
            .append(record(i), Durability::Buffered)
            .unwrap();
    }
    store.flush().unwrap();
    let before = store.write_stats();
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let store = &store;
            s.spawn(move || {
                for i in 0..n / threads {
                    store
                        .logs()
                        .append(record(ring + t * n + i), Durability::Buffered)
                        .unwrap();
                }
            });
        }
    });
    store.logs().commit_queued().unwrap();
    let secs = started.elapsed().as_secs_f64();
    let after = store.write_stats();
    let batches = (after.batches - before.batches).max(1);
    let batch = n as f64 / batches as f64;
    (n as f64 / secs, batch, store)
}

fn sqlite_append(dir: &Path, ring: u64, n: u64, threads: u64, batch: u64) -> f64 {
    let path = fresh(dir, &format!("logs-{threads}.db"));
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE ring(slot INTEGER PRIMARY KEY, seq INTEGER, time INTEGER, level INTEGER,
           message TEXT, target TEXT, tenant TEXT, user TEXT, endpoint TEXT, status INTEGER,
           duration INTEGER, fields TEXT);
         CREATE INDEX ring_seq ON ring(seq);",
    )
    .unwrap();
    let upsert = "INSERT OR REPLACE INTO ring(slot, seq, time, level, message, target, tenant,
                  user, endpoint, status, duration, fields) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
    let put = |c: &rusqlite::Connection, seq: u64| {
        let r = record(seq);
        c.prepare_cached(upsert)
            .unwrap()
            .execute(rusqlite::params![
                (seq % ring) as i64,
                seq as i64,
                seq as i64,
                r.level as i64,
                r.message,
                r.target,
                r.tenant,
                r.user,
                r.endpoint,
                r.status.map(i64::from),
                r.duration_us.map(|d| d as i64),
                format!("request_id={}", r.fields[0].1),
            ])
            .unwrap();
    };
    c.execute_batch("BEGIN").unwrap();
    for seq in 0..ring {
        put(&c, seq);
    }
    c.execute_batch("COMMIT").unwrap();
    let next = std::sync::atomic::AtomicU64::new(ring);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (path, next, put) = (&path, &next, &put);
            s.spawn(move || {
                let c = rusqlite::Connection::open(path).unwrap();
                c.busy_timeout(Duration::from_secs(60)).unwrap();
                c.execute_batch("PRAGMA synchronous=NORMAL;").unwrap();
                let mut done = 0;
                while done < n / threads {
                    let k = batch.min(n / threads - done);
                    c.execute_batch("BEGIN IMMEDIATE").unwrap();
                    for _ in 0..k {
                        let seq = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        put(&c, seq);
                    }
                    c.execute_batch("COMMIT").unwrap();
                    done += k;
                }
            });
        }
    });
    n as f64 / started.elapsed().as_secs_f64()
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |p: f64| v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hardstore-logs-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ring = env_or("HARDSTORE_BENCH_RING", 100_000);
    let n = env_or("HARDSTORE_BENCH_APPENDS", 300_000);

    println!(
        "\n== Sustained buffered log append, ring of {ring} full and wrapping, {n} appends =="
    );
    println!(
        "{:>8} {:>14} {:>12} {:>14} {:>10}",
        "threads", "hardstore/s", "mean batch", "sqlite/s", "vs sqlite"
    );
    let mut keep = None;
    for threads in [1u64, 4] {
        let (hs, batch, store) = hardstore_append(&dir, ring, n, threads);
        let sq = sqlite_append(&dir, ring, n, threads, batch.round().max(1.0) as u64);
        println!(
            "{threads:>8} {hs:>14.0} {batch:>12.0} {sq:>14.0} {:>9.2}x",
            hs / sq
        );
        keep = Some(store);
    }

    let store = keep.unwrap();
    let logs = store.logs();
    println!(
        "\n== Query latency over a full ring of {} entries, 200 runs each after 5 warm-up runs ==",
        logs.len().unwrap()
    );
    let queries: Vec<(&str, LogQuery)> = vec![
        (
            "level >= error, newest 100",
            LogQuery::new().min_level(Level::Error).limit(100),
        ),
        (
            "endpoint = POST /checkout, newest 100",
            LogQuery::new().endpoint("POST /checkout").limit(100),
        ),
        (
            "text \"timeout\", newest 100",
            LogQuery::new().text("timeout").limit(100),
        ),
    ];
    for (name, q) in queries {
        for _ in 0..5 {
            logs.query(&q).unwrap(); // warm the page cache
        }
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let page = logs.query(&q).unwrap();
            times.push(t.elapsed());
            assert_eq!(page.entries.len(), 100);
        }
        let (p50, p99) = percentiles(times);
        println!("  {name:<40} p50 {p50:>7.2} ms   p99 {p99:>7.2} ms   (target p99 < 5 ms)");
    }
    let mut times = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let s = logs.stats(None, None).unwrap();
        times.push(t.elapsed());
        assert_eq!(s.total, ring);
    }
    let (p50, p99) = percentiles(times);
    println!(
        "  {:<40} p50 {p50:>7.2} ms   p99 {p99:>7.2} ms   (target < 50 ms)",
        "stats over the whole ring"
    );
    store.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
