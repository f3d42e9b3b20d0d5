//! Rate-limit benchmark, side by side in one run: a GCRA check of one of 100,000 keys
//! (IPs) under "60 a minute", through a `Limiter` handle at 1 and 2 threads and by name,
//! against the same check hand-rolled in SQLite in memory (SELECT the key's TAT, then an
//! UPSERT) and in raw redb (one non-durable write transaction per check, in memory).
//! Prints checks/s, ratios and the p99 of single checks (targets: >= 5M/s on 1 thread,
//! >= 10M/s on 2, p99 <= 1 µs).
//!
//!     cargo bench --bench rate_limits

mod common;

use std::time::{Duration, Instant};

use common::env_or;
use hardstore::rate_limits::Limit;
use hardstore::{Options, Store};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

const KEYS: usize = 100_000;
const EMISSION_NS: u64 = 1_000_000_000;
const BURST: u64 = 60;

fn keys() -> Vec<[u8; 4]> {
    let mut x = 0x9e37_79b9u32;
    (0..KEYS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_be_bytes()
        })
        .collect()
}

/// Checks per second of `threads` threads each running `n` checks; `op(thread, i)`.
fn rate(threads: usize, n: usize, op: impl Fn(usize, usize) + Sync) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let op = &op;
            s.spawn(move || (0..n).for_each(|i| op(t, i)));
        }
    });
    (threads * n) as f64 / started.elapsed().as_secs_f64()
}

/// The GCRA step the hand-rolled versions run (the same arithmetic as the store's).
fn gcra(tat: u64, now: u64) -> Option<u64> {
    let new_tat = tat.max(now) + EMISSION_NS;
    (new_tat - EMISSION_NS * BURST <= now).then_some(new_tat)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_or("HARDSTORE_BENCH_OPS", 4_000_000) as usize;
    let keys = keys();
    let store = Store::in_memory(Options::new()).unwrap();
    store
        .rate_limits()
        .define("acme", "ip", Limit::per_minute(60))
        .unwrap();
    let h = store.rate_limits().limiter("acme", "ip").unwrap();
    // Warm: every key in memory.
    for k in &keys {
        h.check(k, 1).unwrap();
    }

    println!("\n== A rate-limit check (GCRA, 60 a minute, 100,000 keys), checks/s ==");
    let one = rate(1, n, |_, i| {
        std::hint::black_box(h.check(&keys[i % KEYS], 1).unwrap());
    });
    let two = rate(2, n, |t, i| {
        std::hint::black_box(h.check(&keys[(i * 2 + t) % KEYS], 1).unwrap());
    });
    let rl = store.rate_limits();
    let by_name = rate(1, n / 4, |_, i| {
        std::hint::black_box(rl.check("acme", "ip", &keys[i % KEYS], 1).unwrap());
    });

    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    sqlite
        .execute_batch("CREATE TABLE rl(k BLOB PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID;")
        .unwrap();
    let mut get = sqlite.prepare("SELECT tat FROM rl WHERE k = ?1").unwrap();
    let mut put = sqlite
        .prepare("INSERT INTO rl(k, tat) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET tat = excluded.tat")
        .unwrap();
    let sqlite_n = n / 20;
    let started = Instant::now();
    for i in 0..sqlite_n {
        let k = &keys[i % KEYS][..];
        let tat: u64 = get
            .query_row([k], |r| r.get::<_, i64>(0))
            .map(|v| v as u64)
            .unwrap_or(0);
        if let Some(t) = gcra(tat, now_ns()) {
            put.execute(rusqlite::params![k, t as i64]).unwrap();
        }
    }
    let sqlite_rate = sqlite_n as f64 / started.elapsed().as_secs_f64();

    const T: TableDefinition<&[u8], u64> = TableDefinition::new("rl");
    let db = redb::Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    let redb_n = n / 100;
    let started = Instant::now();
    for i in 0..redb_n {
        let k = &keys[i % KEYS][..];
        let mut w = db.begin_write().unwrap();
        w.set_durability(redb::Durability::None).unwrap();
        {
            let mut t = w.open_table(T).unwrap();
            let tat = t.get(k).unwrap().map_or(0, |g| g.value());
            if let Some(new) = gcra(tat, now_ns()) {
                t.insert(k, new).unwrap();
            }
        }
        w.commit().unwrap();
    }
    let redb_rate = redb_n as f64 / started.elapsed().as_secs_f64();
    let _ = db.begin_read().unwrap();

    println!(
        "hardstore Limiter, 1 thread   {:>12.0}   (target >= 5M)",
        one
    );
    println!(
        "hardstore Limiter, 2 threads  {:>12.0}   (target >= 10M)",
        two
    );
    println!("hardstore by name, 1 thread   {:>12.0}", by_name);
    println!(
        "SQLite in memory, 1 thread    {:>12.0}   hardstore {:.0}x",
        sqlite_rate,
        one / sqlite_rate
    );
    println!(
        "raw redb, a write per check   {:>12.0}   hardstore {:.0}x",
        redb_rate,
        one / redb_rate
    );

    // Single checks timed one by one (each figure includes one clock read, ~20 ns).
    let mut lat: Vec<Duration> = Vec::with_capacity(1_000_000);
    for i in 0..1_000_000 {
        let t = Instant::now();
        std::hint::black_box(h.check(&keys[i % KEYS], 1).unwrap());
        lat.push(t.elapsed());
    }
    lat.sort();
    let at = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize].as_nanos();
    println!(
        "single check, 1 thread: p50 {} ns, p99 {} ns, p99.9 {} ns   (target p99 <= 1,000 ns)",
        at(0.5),
        at(0.99),
        at(0.999)
    );
}
