//! Health: a store grades itself. A service logs its requests; when errors pass the
//! store's threshold the grade turns degraded and, with `raise_alerts`, one alert is
//! raised (not one per check); when the errors age out of the window it turns healthy
//! and the alert is resolved. The deep check reads everything. Time is a manual clock.
//!
//!     cargo run --example health

use std::time::Duration;

use hardstore::health::{HealthOptions, HealthThresholds};
use hardstore::{Durability, Level, LogRecord, ManualClock, Options, Result, Store};

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-health-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let clock = ManualClock::new(1_714_564_800_000_000); // 2024-05-01 12:00 UTC
    let thresholds = HealthThresholds {
        window: Duration::from_secs(60),
        error_permille_degraded: 20, // 2% errors over the last minute
        ..HealthThresholds::default()
    };
    let store = Store::open(
        dir.join("health.hardstore"),
        Options::new()
            .clock(clock.clone())
            .health_thresholds(thresholds),
    )?;
    let request = |ok: bool| {
        let level = if ok { Level::Info } else { Level::Error };
        let rec = LogRecord::new(level, "POST /orders")
            .endpoint("/orders")
            .duration_us(3_200);
        store.logs().append(rec, Durability::Buffered)
    };
    let check = HealthOptions::new().raise_alerts(true);
    let print = |label: &str| -> Result<()> {
        let r = store.health_with(check)?;
        let req = r.component("requests").expect("requests");
        println!(
            "{label}: {} ({} raised, {} resolved) - requests: {}",
            r.grade.as_str(),
            r.alerts_raised,
            r.alerts_resolved,
            req.reason
        );
        Ok(())
    };

    for i in 0..500 {
        request(i % 100 != 0)?; // 1% errors
    }
    print("steady")?;
    for i in 0..100 {
        request(i % 10 != 0)?; // a bad patch: 10% errors
    }
    print("bad patch")?;
    print("checked again")?; // same grade: no new alert
    let open = store
        .alerts()
        .open_by_key("hardstore", "requests")?
        .expect("raised");
    println!(
        "  alert #{} {}: {}",
        open.id,
        open.severity.as_str(),
        open.message
    );

    clock.advance(120_000_000); // the bad minute ages out of the window
    for _ in 0..200 {
        request(true)?;
    }
    print("recovered")?;
    let deep = store.health_deep()?;
    for c in &deep.components {
        println!("  {:<15} {:<9} {}", c.name, c.status.as_str(), c.reason);
    }
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
