//! A realistic service, side by side in one run: hardstore vs SQLite (rusqlite, bundled,
//! WAL, synchronous=FULL) doing the same work.
//!
//!     cargo bench --bench mixed
//!
//! 64 request threads each handle one request after another: begin its idempotency key,
//! then one durable write that puts the order into app state, appends an audit entry and
//! completes the key with the response, and a log line. 4 dead-letter workers claim and
//! ack due items (50,000 queued before the run) meanwhile. SQLite does the same
//! statements: the key inserted in progress in a transaction of its own, then the order,
//! the audit row, the log row and the completion in one transaction; the workers claim
//! and ack with a lease, as a hand-rolled table does it.
//!
//! Printed: requests/s, request latency p50 / p99 / p99.9 (begin to completion), CPU per
//! request (all threads of the process, workers included, over the requests), and the
//! workers' claim + ack pairs/s. HARDSTORE_BENCH_SECS sets the seconds (default 5).

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{env_or, fresh, process_cpu, scratch};
use hardstore::dead_letters::NewDeadLetter;
use hardstore::logs::{Level, LogRecord};
use hardstore::{AuditEvent, Begin, Durability, Options, Store};

const REQUEST_THREADS: u64 = 64;
const WORKERS: u64 = 4;
const QUEUED: u64 = 50_000;
const LEASE: Duration = Duration::from_secs(60);
const RESPONSE: &[u8] =
    br#"{"id":"ord_1234567890","status":"created","amount":12000,"currency":"EUR"}"#;

fn order(t: u64, i: u64) -> (String, Vec<u8>) {
    let key = format!("req-{t}-{i}");
    let body = format!("{{\"client\":{t},\"n\":{i},\"sku\":\"A-42\",\"qty\":2}}").into_bytes();
    (key, body)
}

/// One run's figures.
struct Figures {
    requests: u64,
    secs: f64,
    latencies: Vec<Duration>,
    cpu: Option<Duration>,
    pairs: u64,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.secs
    }

    fn pct(&self, p: f64) -> f64 {
        let v = &self.latencies;
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3
    }

    fn cpu_us(&self) -> Option<f64> {
        self.cpu
            .map(|c| c.as_secs_f64() * 1e6 / self.requests.max(1) as f64)
    }
}

/// Runs `request(t, i)` on the request threads and `work()` on the workers for `secs`.
fn drive(
    secs: u64,
    request: impl Fn(u64, u64) + Sync,
    work: impl Fn(u64) -> bool + Sync,
) -> Figures {
    let stop = AtomicBool::new(false);
    let pairs = AtomicU64::new(0);
    let cpu0 = process_cpu();
    let started = Instant::now();
    let latencies = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for t in 0..REQUEST_THREADS {
            let (stop, request) = (&stop, &request);
            handles.push(s.spawn(move || {
                let mut lat = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    request(t, i);
                    lat.push(at.elapsed());
                    i += 1;
                }
                lat
            }));
        }
        for w in 0..WORKERS {
            let (stop, work, pairs) = (&stop, &work, &pairs);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if work(w) {
                        pairs.fetch_add(1, Ordering::Relaxed);
                    } else {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().unwrap());
        }
        all
    });
    let secs = started.elapsed().as_secs_f64();
    let cpu = match (cpu0, process_cpu()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let mut latencies = latencies;
    latencies.sort();
    Figures {
        requests: latencies.len() as u64,
        secs,
        latencies,
        cpu,
        pairs: pairs.load(Ordering::Relaxed),
    }
}

fn hardstore_run(dir: &Path, secs: u64) -> Figures {
    let store = Store::open(fresh(dir, "mixed.hardstore"), Options::new()).unwrap();
    for chunk in 0..QUEUED / 1000 {
        store
            .write(Durability::Buffered, move |tx| {
                for i in 0..1000 {
                    let n = chunk * 1000 + i;
                    tx.dlq_record(&NewDeadLetter::new(
                        "acme",
                        "webhook",
                        format!("event {n}").into_bytes(),
                    ))?;
                }
                Ok(())
            })
            .unwrap();
    }
    store.flush().unwrap();
    let f = drive(
        secs,
        |t, i| {
            let (key, body) = order(t, i);
            let Begin::Started(token) = store
                .idempotency()
                .begin("acme", &key, &body, LEASE)
                .unwrap()
            else {
                panic!("a fresh key starts")
            };
            let order_key = key.clone().into_bytes();
            store
                .write(Durability::Durable, move |tx| {
                    tx.kv_put("orders", &order_key, &body)?;
                    tx.audit_append(
                        &AuditEvent::new("acme", "order.create")
                            .actor(format!("client-{t}"))
                            .resource(format!("orders/{t}-{i}"))
                            .outcome("201"),
                    )?;
                    tx.idem_complete(&token, Some(201), RESPONSE)
                })
                .unwrap();
            store
                .logs()
                .append(
                    LogRecord::new(Level::Info, format!("POST /orders {key} 201"))
                        .endpoint("POST /orders")
                        .status(201),
                    Durability::Buffered,
                )
                .unwrap();
        },
        |_| {
            let dl = store.dead_letters();
            match dl.claim_due(1, LEASE).unwrap().pop() {
                Some(c) => {
                    dl.ack(&c).unwrap();
                    true
                }
                None => false,
            }
        },
    );
    store.close().unwrap();
    f
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn sqlite_connect(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(60)).unwrap();
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .unwrap();
    c
}

fn sqlite_run(dir: &Path, secs: u64) -> Figures {
    let path = fresh(dir, "mixed.db");
    {
        let mut c = sqlite_connect(&path);
        c.execute_batch(
            "CREATE TABLE idem(tenant TEXT, key TEXT, fingerprint BLOB, state INTEGER,
               status INTEGER, body BLOB, PRIMARY KEY (tenant, key)) WITHOUT ROWID;
             CREATE TABLE kv(ns TEXT, key BLOB, value BLOB, PRIMARY KEY (ns, key)) WITHOUT ROWID;
             CREATE TABLE audit(seq INTEGER PRIMARY KEY, time INTEGER, tenant TEXT, actor TEXT,
               action TEXT, resource TEXT, outcome TEXT, hash BLOB);
             CREATE TABLE logs(seq INTEGER PRIMARY KEY, time INTEGER, level INTEGER,
               message TEXT, endpoint TEXT, status INTEGER);
             CREATE TABLE dead_letters(id INTEGER PRIMARY KEY, payload BLOB, state INTEGER,
               due INTEGER, token INTEGER);
             CREATE INDEX dead_letters_due ON dead_letters(due);",
        )
        .unwrap();
        let tx = c.transaction().unwrap();
        for n in 0..QUEUED {
            tx.prepare_cached(
                "INSERT INTO dead_letters(payload, state, due, token) VALUES (?1, 0, 0, 0)",
            )
            .unwrap()
            .execute([format!("event {n}").into_bytes()])
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let conns: Vec<std::sync::Mutex<rusqlite::Connection>> = (0..REQUEST_THREADS + WORKERS)
        .map(|_| std::sync::Mutex::new(sqlite_connect(&path)))
        .collect();
    drive(
        secs,
        |t, i| {
            // Each thread has a connection of its own; the mutex is never contended.
            let c = conns[t as usize].lock().unwrap();
            let (key, body) = order(t, i);
            let fp = blake3::hash(&body);
            c.prepare_cached(
                "INSERT INTO idem(tenant, key, fingerprint, state) VALUES ('acme', ?1, ?2, 0)",
            )
            .unwrap()
            .execute(rusqlite::params![key, fp.as_bytes().as_slice()])
            .unwrap();
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            c.prepare_cached("INSERT OR REPLACE INTO kv(ns, key, value) VALUES ('orders', ?1, ?2)")
                .unwrap()
                .execute(rusqlite::params![key.as_bytes(), body])
                .unwrap();
            // The audit row chains a hash over the previous one, as a hand-rolled
            // tamper-evident table does.
            let prev: Vec<u8> = c
                .prepare_cached("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")
                .unwrap()
                .query_row([], |r| r.get(0))
                .unwrap_or_default();
            let row = format!("acme|client-{t}|order.create|orders/{t}-{i}|201");
            let mut h = blake3::Hasher::new();
            h.update(&prev);
            h.update(row.as_bytes());
            c.prepare_cached(
                "INSERT INTO audit(time, tenant, actor, action, resource, outcome, hash)
                 VALUES (?1, 'acme', ?2, 'order.create', ?3, '201', ?4)",
            )
            .unwrap()
            .execute(rusqlite::params![
                now_us(),
                format!("client-{t}"),
                format!("orders/{t}-{i}"),
                h.finalize().as_bytes().as_slice()
            ])
            .unwrap();
            c.prepare_cached(
                "INSERT INTO logs(time, level, message, endpoint, status)
                 VALUES (?1, 2, ?2, 'POST /orders', 201)",
            )
            .unwrap()
            .execute(rusqlite::params![
                now_us(),
                format!("POST /orders {key} 201")
            ])
            .unwrap();
            c.prepare_cached(
                "UPDATE idem SET state = 1, status = 201, body = ?2
                 WHERE tenant = 'acme' AND key = ?1",
            )
            .unwrap()
            .execute(rusqlite::params![key, RESPONSE])
            .unwrap();
            c.execute_batch("COMMIT").unwrap();
        },
        |w| {
            let c = conns[(REQUEST_THREADS + w) as usize].lock().unwrap();
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            let now = now_us();
            let row: Option<(i64, i64)> = c
                .prepare_cached(
                    "SELECT id, token FROM dead_letters WHERE due <= ?1 ORDER BY due LIMIT 1",
                )
                .unwrap()
                .query_row([now], |r| Ok((r.get(0)?, r.get(1)?)))
                .ok();
            let Some((id, token)) = row else {
                c.execute_batch("COMMIT").unwrap();
                return false;
            };
            c.prepare_cached(
                "UPDATE dead_letters SET state = 1, token = token + 1, due = ?2 WHERE id = ?1",
            )
            .unwrap()
            .execute([id, now + LEASE.as_micros() as i64])
            .unwrap();
            c.execute_batch("COMMIT").unwrap();
            let n = c
                .prepare_cached(
                    "UPDATE dead_letters SET state = 2, due = NULL
                     WHERE id = ?1 AND token = ?2 AND state = 1",
                )
                .unwrap()
                .execute([id, token + 1])
                .unwrap();
            n == 1
        },
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs = env_or("HARDSTORE_BENCH_SECS", 5);
    let dir = scratch("mixed-bench");
    println!(
        "\n== Mixed: {REQUEST_THREADS} request threads (begin, app state, audit entry, completion in one durable write, a log line) + {WORKERS} dead-letter workers, {secs} s =="
    );
    let h = hardstore_run(&dir, secs);
    let s = sqlite_run(&dir, secs);
    println!(
        "{:>10} {:>11} {:>9} {:>9} {:>10} {:>14} {:>12}",
        "", "requests/s", "p50 ms", "p99 ms", "p99.9 ms", "CPU/request", "dlq pairs/s"
    );
    for (name, f) in [("hardstore", &h), ("sqlite", &s)] {
        println!(
            "{name:>10} {:>11.0} {:>9.2} {:>9.2} {:>10.2} {:>12} µs {:>12.0}",
            f.rate(),
            f.pct(0.5),
            f.pct(0.99),
            f.pct(0.999),
            f.cpu_us().map_or("-".to_string(), |c| format!("{c:.1}")),
            f.pairs as f64 / f.secs
        );
    }
    println!(
        "     ratio {:>10.1}x (requests/s); dead-letter pairs {:.1}x",
        h.rate() / s.rate(),
        (h.pairs as f64 / h.secs) / (s.pairs as f64 / s.secs).max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
