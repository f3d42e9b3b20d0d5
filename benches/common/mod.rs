//! Helpers the side-by-side benchmarks share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A number from the environment, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `dir/name` with any earlier file (and SQLite's -wal and -shm beside it) removed.
pub fn fresh(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", p.display()));
    }
    p
}

/// Runs `op(thread, i)` on `threads` threads for `secs`; returns ops per second.
pub fn run_for(threads: u64, secs: u64, op: impl Fn(u64, u64) + Sync) -> f64 {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, done, op) = (&stop, &done, &op);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    op(t, i);
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// The p50 and p99 of `v`, in microseconds.
pub fn p50_p99_us(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |p: f64| v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// A scratch folder for one benchmark run, under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Appends `n` buffered audit entries to `store` and flushes: the audit log a store under
/// benchmark carries besides its app rows.
pub fn fill_audit(store: &hardstore::Store, n: u64) {
    for i in 0..n {
        store
            .audit()
            .append(
                hardstore::AuditEvent::new("acme", "bench").resource(format!("r/{i}")),
                hardstore::Durability::Buffered,
            )
            .unwrap();
    }
    store.flush().unwrap();
}

/// A webhook body of about 200 bytes.
pub fn dlq_payload(i: u64) -> Vec<u8> {
    format!(
        "{{\"event\":\"order.paid\",\"order\":{i},\"amount\":4200,\"currency\":\"EUR\",\
         \"customer\":\"cus_{:012x}\",\"url\":\"https://hooks.example.com/acme/orders\",\
         \"attempted_at\":\"2024-05-01T12:00:00Z\"}}",
        i.wrapping_mul(0x9E37_79B9)
    )
    .into_bytes()
}

/// The kind of queued dead letter `i`: one in four is an email, the rest webhooks.
pub fn dlq_kind(i: u64) -> &'static str {
    if i.is_multiple_of(4) {
        "email"
    } else {
        "webhook"
    }
}

/// Records `items` due dead letters in `store`, durably, in writes of 20,000.
pub fn fill_dead_letters(store: &hardstore::Store, items: u64) {
    let mut i = 0;
    while i < items {
        let n = (items - i).min(20_000);
        store
            .write(hardstore::Durability::Durable, move |tx| {
                for k in i..i + n {
                    tx.dlq_record(
                        &hardstore::NewDeadLetter::new("acme", dlq_kind(k), dlq_payload(k))
                            .error("503 from upstream"),
                    )?;
                }
                Ok(())
            })
            .unwrap();
        i += n;
    }
}

/// CPU time this process has used (user + system, all threads), from `/proc/self/stat`
/// in clock ticks of 10 ms; `None` where that file does not exist.
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at its closing ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
