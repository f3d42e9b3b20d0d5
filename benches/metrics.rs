//! Metrics benchmark, side by side in one run: an app counter increment through a
//! series handle, at 1 and 64 threads, against prometheus-client's own labeled counter
//! (`Family::get_or_create(..).inc()`, the reference client) and an SQLite (in memory)
//! `UPDATE ... SET v = v + 1` of a counter row; then the exposition of 1,000 series in
//! both text formats (targets: an increment <= 50 ns alone and <= 200 ns at 64 threads;
//! 1,000 series <= 2 ms).
//!
//!     cargo bench --bench metrics

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use common::{env_or, p50_p99_us};
use hardstore::metrics::Format;
use hardstore::{Options, Store};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// Nanoseconds per increment of `threads` threads each doing `n` (wall time over total).
fn per_op(threads: u64, n: u64, f: impl Fn(u64) + Sync) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &f;
            s.spawn(move || {
                for _ in 0..n {
                    f(t);
                }
            });
        }
    });
    started.elapsed().as_nanos() as f64 / (threads * n) as f64
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_or("HARDSTORE_BENCH_OPS", 2_000_000);
    let store = Store::in_memory(Options::new()).unwrap();
    let m = store.metrics();
    let c = m
        .counter("http_requests", "Requests.", &["method", "code"])
        .unwrap();
    let series = c.with(&["GET", "200"]).unwrap();
    let family = Family::<Vec<(String, String)>, Counter>::default();
    let labels = vec![
        ("method".to_string(), "GET".to_string()),
        ("code".to_string(), "200".to_string()),
    ];
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    sqlite
        .execute_batch("CREATE TABLE c(name TEXT PRIMARY KEY, v INTEGER); INSERT INTO c VALUES ('GET 200', 0);")
        .unwrap();
    let mut upd = sqlite
        .prepare("UPDATE c SET v = v + 1 WHERE name = 'GET 200'")
        .unwrap();
    println!("\n== A counter increment, ns of wall time per increment ==");
    println!(
        "{:>8} {:>12} {:>16} {:>12} {:>12}",
        "threads", "hardstore", "prometheus-client", "sqlite mem", "vs client"
    );
    for threads in [1u64, 64] {
        let per = n / threads;
        let hs = per_op(threads, per, |_| series.inc());
        let pc = per_op(threads, per, |_| {
            family.get_or_create(&labels).inc();
        });
        let sq = if threads == 1 {
            let t = Instant::now();
            for _ in 0..per.min(200_000) {
                upd.execute([]).unwrap();
            }
            format!(
                "{:.0}",
                t.elapsed().as_nanos() as f64 / per.min(200_000) as f64
            )
        } else {
            "-".into()
        };
        println!(
            "{threads:>8} {hs:>12.1} {pc:>16.1} {sq:>12} {:>11.1}x",
            pc / hs
        );
    }
    assert_eq!(series.get(), n + (n / 64) * 64, "every increment counted");

    // 1,000 series: 10 counters x 100 label values.
    let done = AtomicU64::new(0);
    for f in 0..10 {
        let c = m
            .counter(&format!("jobs_{f}"), "Jobs.", &["queue"])
            .unwrap();
        for q in 0..100 {
            c.with(&[&format!("q{q}")]).unwrap().inc_by(q);
            done.fetch_add(1, Ordering::Relaxed);
        }
    }
    m.persist().unwrap();
    println!(
        "\n== The exposition of {} app series (plus the store's own) ==",
        done.load(Ordering::Relaxed)
    );
    for (label, format) in [
        ("prometheus 0.0.4", Format::Prometheus),
        ("openmetrics", Format::OpenMetrics),
    ] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..200 {
            let t = Instant::now();
            bytes = m.encode(format).unwrap().len();
            times.push(t.elapsed());
        }
        let (p50, p99) = p50_p99_us(times);
        println!(
            "  {label:<17} p50 {p50:.0} us, p99 {p99:.0} us ({bytes} bytes; target <= 2000 us)"
        );
    }
}
