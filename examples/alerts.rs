//! Alerts: a flapping check raises the same alert again and again (one alert, counted),
//! on-call acknowledges it, a fix resolves it, a later failure opens a new one; the
//! history pages newest first; a purge of old resolved alerts says how many it deletes
//! and asks for that count. Every change is in the audit log. Time is a manual clock.
//!
//!     cargo run --example alerts

use std::time::Duration;

use hardstore::alerts::{AlertQuery, AlertScope, NewAlert, Severity};
use hardstore::{AuditQuery, Durability, Error, ManualClock, Options, Result, Store};

const MINUTE_US: u64 = 60_000_000;

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-alerts-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let clock = ManualClock::new(1_714_564_800_000_000); // 2024-05-01 12:00 UTC
    let store = Store::open(
        dir.join("alerts.hardstore"),
        Options::new().clock(clock.clone()),
    )?;
    let alerts = store.alerts();

    // A latency check fails five times in five minutes: one alert, counted five times.
    let latency = |sev| NewAlert::new("acme", "api", "p95-latency", sev, "p95 over 250 ms");
    let mut first = None;
    for i in 0..5 {
        let sev = if i < 3 {
            Severity::Warning
        } else {
            Severity::Critical
        };
        let r = alerts.raise(latency(sev), Durability::Durable)?;
        first.get_or_insert(r.id);
        clock.advance(MINUTE_US);
    }
    let id = first.expect("raised");
    let a = alerts.get(id)?;
    println!(
        "alert {id}: {} {} raised {} times, now {}",
        a.tenant,
        a.dedup_key,
        a.count,
        a.severity.as_str()
    );
    assert_eq!((a.count, a.severity), (5, Severity::Critical));

    alerts.acknowledge(id, "oncall:ana")?;
    alerts.raise(latency(Severity::Critical), Durability::Durable)?; // still counts on it
    clock.advance(10 * MINUTE_US);
    let r = alerts.resolve(id, "oncall:ana", "scaled the API pool from 4 to 8")?;
    println!("resolved by {}: {}", r.resolved_by, r.resolution);

    // A failure after the fix is a new alert, not a reopened one.
    clock.advance(60 * MINUTE_US);
    let again = alerts.raise(latency(Severity::Warning), Durability::Durable)?;
    assert!(again.created && again.id != id);
    let page = alerts.list(&AlertQuery::new(AlertScope::All).tenant("acme"))?;
    for a in &page.alerts {
        println!(
            "  #{} {:<12} {:<8} x{}",
            a.id,
            a.state.as_str(),
            a.severity.as_str(),
            a.count
        );
    }

    // A day later, resolved alerts older than an hour go, once their count is confirmed.
    clock.advance(24 * 60 * MINUTE_US);
    let keep = Duration::from_secs(3600);
    let n = match alerts.purge_resolved(keep, 0) {
        Err(Error::ConfirmationRequired { deletes, .. }) => deletes,
        other => panic!("an unconfirmed purge: {other:?}"),
    };
    println!(
        "a purge would delete {n}; confirmed: {} deleted",
        alerts.purge_resolved(keep, n)?
    );

    let audit = store.audit().query(&AuditQuery::new("acme").limit(100))?;
    println!(
        "{} audit entries record every change; verify: {:?}",
        audit.entries.len(),
        store.audit().verify()?.first_bad_seq
    );
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
