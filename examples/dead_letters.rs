//! Dead letters: failed webhooks kept, retried on a schedule by workers, declared dead
//! when they keep failing, inspected, redriven and purged. Time is a manual clock, so
//! hours of backoff pass in an instant.
//!
//!     cargo run --example dead_letters

use std::time::Duration;

use hardstore::dead_letters::{retry, Failure, RetryOutcome};
use hardstore::{
    Clock, DlqFilter, DlqQuery, DlqState, Durability, Jitter, ManualClock, NewDeadLetter, Options,
    Outcome, Result, RetryPolicy, Store,
};

const HOUR_US: u64 = 3_600_000_000;

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hardstore-dlq-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let clock = ManualClock::new(1_714_564_800_000_000); // 2024-05-01 12:00 UTC
    let policy = RetryPolicy::new(Duration::from_secs(30), Duration::from_secs(3600))
        .max_attempts(5)
        .jitter(Jitter::Full);
    let store = Store::open(
        dir.join("dlq.hardstore"),
        Options::new()
            .clock(clock.clone())
            .dead_letter_policy(policy),
    )?;
    let dl = store.dead_letters();

    // 1. In-process retries first; when they run out, the work becomes a dead letter.
    let fast =
        RetryPolicy::new(Duration::from_millis(1), Duration::from_millis(10)).max_attempts(3);
    let out = retry(
        &store,
        &fast,
        "acme",
        "webhook",
        b"{\"order\":1}",
        |attempt| Err::<(), _>(format!("POST https://hooks.acme.test: 503 (try {attempt})")),
    )?;
    if let RetryOutcome::DeadLettered { id, attempts, .. } = out {
        println!("retry: {attempts} tries failed, dead letter {id} recorded");
    }
    // Or record one directly (here with the app's audit entry, atomically).
    store.write(Durability::Durable, |tx| {
        tx.dlq_record(
            &NewDeadLetter::new("acme", "email", b"to: bob@example.com".to_vec())
                .error("SMTP 421 try again later"),
        )?;
        tx.audit_append(&hardstore::AuditEvent::new("acme", "email.deferred"))?;
        Ok(())
    })?;
    let bad = retry(&store, &fast, "globex", "email", b"to: nobody", |_| {
        Err::<(), _>(Failure::permanent("550 no such mailbox"))
    })?;
    println!("a permanent failure is not retried: {bad:?}");

    // 2. A worker loop: the webhook keeps failing, the e-mail goes through on try 2.
    for round in 1..=8 {
        for c in dl.claim_due(10, Duration::from_secs(60))? {
            let ok = c.kind == "email" && c.attempt >= 2;
            if ok {
                dl.ack(&c)?;
                println!(
                    "round {round}: {} {} delivered on attempt {}",
                    c.kind, c.id, c.attempt
                );
            } else {
                match dl.fail(&c, "503 from upstream", true)? {
                    Outcome::Rescheduled { at } => println!(
                        "round {round}: {} {} attempt {} failed, retry in {:.1} min",
                        c.kind,
                        c.id,
                        c.attempt,
                        (at - clock.now()) as f64 / 60e6
                    ),
                    Outcome::Dead => println!(
                        "round {round}: {} {} attempt {} failed, declared dead",
                        c.kind, c.id, c.attempt
                    ),
                }
            }
        }
        clock.advance(HOUR_US);
    }

    // 3. Inspect: counts without a scan, dead items with their full history.
    let counts = dl.counts()?;
    println!("counts: {counts:?}");
    for d in dl.list(&DlqQuery::new().state(DlqState::Dead))?.items {
        println!("dead {} ({} for {}):", d.id, d.kind, d.tenant);
        for a in &d.history {
            println!(
                "  attempt {} retryable={} {}",
                a.attempt, a.retryable, a.error
            );
        }
    }

    // 4. The upstream is fixed: redrive dead webhooks of acme, attempts reset.
    let n = dl.redrive_where(&DlqFilter::new().kind("webhook").tenant("acme"))?;
    println!("redrove {n} webhook(s)");
    for c in dl.claim_due(10, Duration::from_secs(60))? {
        dl.ack(&c)?;
        println!("{} {} delivered after redrive", c.kind, c.id);
    }

    // 5. A week later, finished items are purged.
    clock.advance(7 * 24 * HOUR_US);
    println!(
        "purged {} finished item(s); counts now {:?}",
        dl.purge(None)?,
        dl.counts()?
    );
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
