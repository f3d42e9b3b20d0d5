//! Metrics: an app counts its requests with a counter handle (an atomic add), keeps a
//! gauge and a latency histogram, and serves a scrape of the store's own figures and
//! its own in the Prometheus text format; its counters survive a restart.
//!
//!     cargo run --example metrics

use hardstore::metrics::Format;
use hardstore::{AuditEvent, Durability, Options, Result, Store};

fn main() -> Result<()> {
    let dir =
        std::env::temp_dir().join(format!("hardstore-metrics-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("metrics.hardstore");
    {
        let store = Store::open(&path, Options::new())?;
        let m = store.metrics();
        let requests = m.counter(
            "http_requests",
            "HTTP requests served.",
            &["method", "code"],
        )?;
        let ok = requests.with(&["GET", "200"])?; // keep the handle: inc is one atomic add
        let failed = requests.with(&["POST", "500"])?;
        let latency = m
            .histogram(
                "http_latency_seconds",
                "Request latency.",
                &[],
                &[0.005, 0.05, 0.5],
            )?
            .with(&[])?;
        for i in 0..1000u32 {
            if i % 50 == 0 {
                failed.inc();
            } else {
                ok.inc();
            }
            latency.observe(f64::from(i % 40) / 1000.0);
            if i % 100 == 0 {
                store
                    .audit()
                    .append(AuditEvent::new("acme", "order.paid"), Durability::Buffered)?;
            }
        }
        m.gauge("queue_depth", "Jobs waiting.", &[])?
            .with(&[])?
            .set(7);
        let text = m.encode(Format::Prometheus)?; // persists the counters first
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if line.starts_with("http_")
                || line.starts_with("hardstore_audit")
                || line.starts_with("queue")
            {
                println!("{line}");
            }
        }
        store.close()?;
    }
    let store = Store::open(&path, Options::new())?;
    let requests = store.metrics().counter(
        "http_requests",
        "HTTP requests served.",
        &["method", "code"],
    )?;
    println!(
        "after a restart: GET 200 = {}",
        requests.with(&["GET", "200"])?.get()
    );
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
