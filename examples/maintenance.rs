//! Maintenance: a store accumulates expired idempotency keys, old dead letters and
//! resolved alerts; one maintenance run deletes what the store's own retention settings
//! say expired (in bounded steps, with a report) and runs the backup the schedule has
//! due; then the janitor does the same on a thread until the store is closed.
//!
//!     cargo run --example maintenance

use std::time::Duration;

use hardstore::alerts::{NewAlert, Severity};
use hardstore::dead_letters::NewDeadLetter;
use hardstore::maintenance::MaintenanceOptions;
use hardstore::{Begin, Durability, ManualClock, Options, Result, Store};

const DAY_US: u64 = 86_400_000_000;

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "hardstore-maintenance-example-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let clock = ManualClock::new(1_714_564_800_000_000); // 2024-05-01 12:00 UTC
    let opts = Options::new()
        .clock(clock.clone())
        .idempotency_ttl(Duration::from_secs(24 * 3600))
        .dead_letter_purge_after(Duration::from_secs(7 * 86_400))
        .alert_retention(Duration::from_secs(30 * 86_400));
    let path = dir.join("maintenance.hardstore");
    let store = Store::open(&path, opts.clone())?;
    for i in 0..300 {
        let key = format!("order-{i}");
        if let Begin::Started(t) =
            store
                .idempotency()
                .begin("acme", &key, b"POST", Duration::from_secs(30))?
        {
            store.idempotency().complete(&t, Some(201), b"created")?;
        }
        let d = NewDeadLetter::new("acme", "webhook", b"{}".to_vec()).permanent(true);
        store.dead_letters().record(d, Durability::Buffered)?;
        let a = NewAlert::new("acme", "api", key, Severity::Warning, "slow");
        let id = store.alerts().raise(a, Durability::Buffered)?.id;
        store.alerts().resolve(id, "oncall", "")?;
    }
    clock.advance(40 * DAY_US);
    let backups = dir.join("backups");
    let opts_run = MaintenanceOptions::new().step(250).backups_into(&backups);
    let mut run = 1;
    loop {
        let r = store.maintenance(&opts_run)?;
        println!(
            "run {run}: {} keys, {} dead letters, {} alerts deleted; backup {}; more due: {}",
            r.idempotency_expired,
            r.dead_letters_purged,
            r.alerts_purged,
            r.backup.as_ref().map_or("none".to_string(), |b| format!(
                "{} #{}",
                b.kind.name(),
                b.id
            )),
            r.more_due
        );
        if !r.more_due {
            break;
        }
        run += 1;
    }
    store.close()?;

    // The janitor: the same, every 20 ms, on the store's own thread.
    let store = Store::open(&path, opts.janitor(Duration::from_millis(20)))?;
    let d = NewDeadLetter::new("acme", "webhook", b"{}".to_vec()).permanent(true);
    store.dead_letters().record(d, Durability::Durable)?;
    clock.advance(8 * DAY_US);
    while store.dead_letters().counts()?.dead > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = store.janitor_status().expect("a janitor");
    println!(
        "the janitor ran {} times and purged the last dead letter",
        status.runs
    );
    store.close()?; // stops the janitor first
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
