//! The webhook outbox: an order is paid and its `order.paid` event is committed in the
//! same write (both or neither); a delivery worker claims it with Standard Webhooks
//! headers, the receiver verifies them, a first attempt fails and is retried 5 s later,
//! the second is acknowledged. Time is a manual clock; the "HTTP" is a function.
//!
//!     cargo run --example webhooks

use std::time::Duration;

use hardstore::webhooks::{verify_webhook, Delivery, FailOutcome, Secret};
use hardstore::{Clock, Durability, ManualClock, Options, Result, Store};

/// The receiver: verifies the headers with its copy of the secret, then answers.
fn receiver(
    secret: &Secret,
    d: &Delivery,
    now_s: u64,
    up: bool,
) -> std::result::Result<(), String> {
    let headers: Vec<(&str, &str)> = d
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    verify_webhook(
        std::slice::from_ref(secret),
        headers,
        &d.payload,
        300,
        now_s,
    )
    .map_err(|e| format!("401: {e}"))?;
    if up {
        Ok(())
    } else {
        Err("HTTP 503 Service Unavailable".into())
    }
}

fn main() -> Result<()> {
    let dir =
        std::env::temp_dir().join(format!("hardstore-webhooks-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let clock = ManualClock::new(1_714_564_800_000_000); // 2024-05-01 12:00 UTC
    let store = Store::open(
        dir.join("webhooks.hardstore"),
        Options::new().clock(clock.clone()),
    )?;
    let secret = Secret::generate()?;
    println!(
        "an endpoint secret of {} characters (whsec_..., shared with the receiver)",
        secret.to_text().len()
    );
    store.webhooks().put_endpoint(
        "acme",
        "orders",
        "https://acme.example/hooks",
        std::slice::from_ref(&secret),
    )?;

    // The order and its event, in one durable write.
    let queued = store.write(Durability::Durable, |tx| {
        tx.kv_put("orders", b"1001", b"paid")?;
        tx.outbox_enqueue(
            "acme",
            "orders",
            "order.paid",
            br#"{"type":"order.paid","data":{"id":1001}}"#,
        )
    })?;
    println!("committed order 1001 with event {}", queued.webhook_id);

    let mut up = false;
    loop {
        let batch = store.webhooks().claim_due(10, Duration::from_secs(30))?;
        if batch.is_empty() {
            if store.webhooks().counts()?.pending == 0 {
                break;
            }
            clock.advance(1_000_000);
            continue;
        }
        for d in batch {
            let now_s = clock.now() / 1_000_000;
            match receiver(&secret, &d, now_s, up) {
                Ok(()) => {
                    store.webhooks().ack(&d)?;
                    println!(
                        "attempt {}: delivered {} (webhook-id {})",
                        d.attempt, d.event_type, d.headers[0].1
                    );
                }
                Err(e) => match store.webhooks().fail(&d, &e)? {
                    FailOutcome::Retry { at } => println!(
                        "attempt {}: {e}; retry in {} s",
                        d.attempt,
                        (at - clock.now()) / 1_000_000
                    ),
                    FailOutcome::Dead { dead_letter } => {
                        println!("given up: dead letter {dead_letter}")
                    }
                },
            }
        }
        up = true; // the receiver comes back
    }
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
