//! The webhook outbox: messages committed with app state or not at all, deliveries with
//! Standard Webhooks headers a receiver verifies (both secrets during a rotation), the
//! retry schedule, a dead letter after the last attempt, endpoints disabled after
//! failures in a row, lapsed leases delivered again (fencing the old holder), and
//! verification refusing what it must.

use std::time::Duration;

use hardstore::webhooks::{
    verify_webhook, Delivery, FailOutcome, Secret, DISABLE_AFTER, SCHEDULE_SECS,
};
use hardstore::{Durability, Error, ManualClock, Options, Store};

const T0: u64 = 1_700_000_000_000_000;
const SEC: u64 = 1_000_000;

fn setup() -> (Store, ManualClock, Secret) {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(Options::new().clock(clock.clone())).unwrap();
    let secret = Secret::generate().unwrap();
    store
        .webhooks()
        .put_endpoint(
            "acme",
            "orders",
            "https://acme.example/hooks",
            std::slice::from_ref(&secret),
        )
        .unwrap();
    (store, clock, secret)
}

fn headers(d: &Delivery) -> Vec<(&str, &str)> {
    d.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn claim(store: &Store) -> Vec<Delivery> {
    store
        .webhooks()
        .claim_due(100, Duration::from_secs(30))
        .unwrap()
}

#[test]
fn a_message_commits_with_app_state_and_delivers_signed() {
    let (store, clock, secret) = setup();
    let failed: hardstore::Result<()> = store.write(Durability::Durable, |tx| {
        tx.kv_put("orders", b"1", b"paid")?;
        tx.outbox_enqueue("acme", "orders", "order.paid", br#"{"id":1}"#)?;
        Err(Error::InvalidArgument("the app changed its mind".into()))
    });
    assert!(failed.is_err());
    assert!(claim(&store).is_empty(), "nothing of a failed write");
    let e = store
        .write(Durability::Durable, |tx| {
            tx.kv_put("orders", b"2", b"paid")?;
            tx.outbox_enqueue("acme", "orders", "order.paid", br#"{"id":2}"#)
        })
        .unwrap();
    let d = claim(&store).remove(0);
    assert_eq!(
        (d.id, d.attempt, d.url.as_str()),
        (e.id, 1, "https://acme.example/hooks")
    );
    assert_eq!(
        d.headers[0],
        ("webhook-id".to_string(), e.webhook_id.clone())
    );
    let now_s = clock_now(&clock) / SEC;
    let h = verify_webhook(
        std::slice::from_ref(&secret),
        headers(&d),
        &d.payload,
        300,
        now_s,
    )
    .unwrap();
    assert_eq!((h.id, h.timestamp), (e.webhook_id.clone(), now_s));
    assert!(claim(&store).is_empty(), "leased");
    store.webhooks().ack(&d).unwrap();
    assert!(matches!(store.webhooks().ack(&d), Err(Error::Fenced(_))));
    assert_eq!(store.webhooks().counts().unwrap().pending, 0);
}

fn clock_now(c: &ManualClock) -> u64 {
    hardstore::Clock::now(c)
}

#[test]
fn failures_follow_the_schedule_then_the_message_is_a_dead_letter() {
    let (store, clock, _) = setup();
    let e = store
        .webhooks()
        .enqueue("acme", "orders", "order.paid", b"{}", Durability::Durable)
        .unwrap();
    let mut webhook_ids = Vec::new();
    for (i, wait) in SCHEDULE_SECS.iter().enumerate() {
        let d = claim(&store).remove(0);
        assert_eq!(d.attempt as usize, i + 1);
        webhook_ids.push(d.headers[0].1.clone());
        match store.webhooks().fail(&d, "HTTP 503").unwrap() {
            FailOutcome::Retry { at } => assert_eq!(at, clock_now(&clock) + wait * SEC),
            other => panic!("{other:?}"),
        }
        clock.advance(wait * SEC - 1);
        assert!(claim(&store).is_empty(), "not due before its time");
        clock.advance(1);
    }
    let d = claim(&store).remove(0);
    assert_eq!(d.attempt, 8);
    let dead = match store.webhooks().fail(&d, "HTTP 503").unwrap() {
        FailOutcome::Dead { dead_letter } => dead_letter,
        other => panic!("{other:?}"),
    };
    webhook_ids.push(d.headers[0].1.clone());
    assert!(
        webhook_ids.iter().all(|w| *w == e.webhook_id),
        "the same webhook-id on every attempt"
    );
    let dl = store.dead_letters().get(dead).unwrap();
    assert_eq!(dl.kind, "webhook");
    let env: serde_json::Value = serde_json::from_slice(&dl.payload).unwrap();
    assert_eq!(
        (env["webhook_id"].as_str(), env["attempts"].as_u64()),
        (Some(e.webhook_id.as_str()), Some(8))
    );
    assert_eq!(store.webhooks().counts().unwrap().pending, 0);
}

#[test]
fn a_lapsed_lease_is_delivered_again_and_the_old_holder_is_fenced() {
    let (store, clock, _) = setup();
    store
        .webhooks()
        .enqueue("acme", "orders", "t", b"x", Durability::Durable)
        .unwrap();
    let first = claim(&store).remove(0);
    clock.advance(31 * SEC);
    let second = claim(&store).remove(0);
    assert_eq!((second.id, second.attempt), (first.id, 2));
    assert_eq!(second.headers[0], first.headers[0], "same webhook-id");
    assert_ne!(second.headers[1], first.headers[1], "a new timestamp");
    assert!(matches!(
        store.webhooks().ack(&first),
        Err(Error::Fenced(_))
    ));
    assert!(matches!(
        store.webhooks().fail(&first, "x"),
        Err(Error::Fenced(_))
    ));
    store.webhooks().ack(&second).unwrap();
}

#[test]
fn an_endpoint_is_disabled_after_failures_in_a_row_and_waits_until_enabled() {
    let (store, clock, _) = setup();
    for _ in 0..DISABLE_AFTER {
        store
            .webhooks()
            .enqueue("acme", "orders", "t", b"x", Durability::Durable)
            .unwrap();
    }
    let batch = claim(&store);
    assert_eq!(batch.len() as u32, DISABLE_AFTER);
    for d in &batch {
        store.webhooks().fail(d, "connection refused").unwrap();
    }
    let ep = store
        .webhooks()
        .endpoint("acme", "orders")
        .unwrap()
        .unwrap();
    assert!(!ep.enabled && ep.failing == DISABLE_AFTER);
    clock.advance(3600 * SEC);
    assert!(
        claim(&store).is_empty(),
        "a disabled endpoint's messages wait"
    );
    store.webhooks().enable_endpoint("acme", "orders").unwrap();
    let again = claim(&store);
    assert_eq!(again.len() as u32, DISABLE_AFTER);
    store.webhooks().ack(&again[0]).unwrap();
    assert_eq!(
        store
            .webhooks()
            .endpoint("acme", "orders")
            .unwrap()
            .unwrap()
            .failing,
        0
    );
}

#[test]
fn during_a_rotation_both_secrets_sign_and_either_verifies() {
    let (store, clock, old) = setup();
    let new = Secret::generate().unwrap();
    store
        .webhooks()
        .put_endpoint(
            "acme",
            "orders",
            "https://acme.example/hooks",
            &[new.clone(), old.clone()],
        )
        .unwrap();
    store
        .webhooks()
        .enqueue("acme", "orders", "t", b"{\"a\":1}", Durability::Durable)
        .unwrap();
    let d = claim(&store).remove(0);
    assert_eq!(d.headers[2].1.split(' ').count(), 2);
    let now = clock_now(&clock) / SEC;
    for s in [&old, &new] {
        verify_webhook(std::slice::from_ref(s), headers(&d), &d.payload, 300, now).unwrap();
    }
    let stranger = Secret::generate().unwrap();
    assert!(matches!(
        verify_webhook(&[stranger], headers(&d), &d.payload, 300, now),
        Err(Error::SignatureInvalid(_))
    ));
    // Secret text round trip and its refusals.
    assert_eq!(Secret::parse(&new.to_text()).unwrap(), new);
    for bad in [
        "whsec_",
        "whsec_AAAA",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_!!!",
    ] {
        assert!(Secret::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn verification_refuses_stale_edited_missing_and_doubled_headers() {
    let (store, clock, secret) = setup();
    store
        .webhooks()
        .enqueue("acme", "orders", "t", b"payload", Durability::Durable)
        .unwrap();
    let d = claim(&store).remove(0);
    let now = clock_now(&clock) / SEC;
    let s = [secret];
    let h = headers(&d);
    assert!(
        verify_webhook(&s, h.clone(), b"payload", 300, now + 301).is_err(),
        "stale"
    );
    assert!(
        verify_webhook(&s, h.clone(), b"payload", 300, now - 301).is_err(),
        "future"
    );
    assert!(
        verify_webhook(&s, h.clone(), b"payloaD", 300, now).is_err(),
        "edited body"
    );
    for drop_i in 0..3 {
        let fewer: Vec<_> = h
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop_i)
            .map(|(_, p)| *p)
            .collect();
        assert!(matches!(
            verify_webhook(&s, fewer, b"payload", 300, now),
            Err(Error::SignatureInvalid(_))
        ));
    }
    let mut doubled = h.clone();
    doubled.push(("Webhook-Id", "msg_other"));
    assert!(
        verify_webhook(&s, doubled, b"payload", 300, now).is_err(),
        "a header twice"
    );
    let mut other_id = h.clone();
    other_id[0].1 = "msg_0000000000000099";
    assert!(
        verify_webhook(&s, other_id, b"payload", 300, now).is_err(),
        "another id"
    );
    for ts in ["", "12a", "-5", "99999999999999999999999"] {
        let mut t = h.clone();
        t[1].1 = ts;
        assert!(
            verify_webhook(&s, t, b"payload", 300, now).is_err(),
            "timestamp {ts:?}"
        );
    }
    verify_webhook(&s, h, b"payload", 300, now).unwrap();
}

#[test]
fn bad_input_is_refused_and_removing_an_endpoint_asks_for_its_messages() {
    let (store, _, secret) = setup();
    let w = store.webhooks();
    assert!(matches!(
        w.enqueue("acme", "nope", "t", b"", Durability::Durable),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        w.enqueue("acme", "orders", "", b"", Durability::Durable),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        w.enqueue(
            "acme",
            "orders",
            "t",
            &vec![0; 512 * 1024 + 1],
            Durability::Durable
        ),
        Err(Error::TooLong { .. })
    ));
    assert!(w
        .put_endpoint("acme", "x", "ftp://a", std::slice::from_ref(&secret))
        .is_err());
    assert!(w.put_endpoint("acme", "x", "https://a", &[]).is_err());
    assert!(w.claim_due(0, Duration::from_secs(1)).is_err());
    assert!(w.claim_due(1, Duration::ZERO).is_err());
    w.enqueue("acme", "orders", "t", b"1", Durability::Durable)
        .unwrap();
    w.enqueue("acme", "orders", "t", b"2", Durability::Durable)
        .unwrap();
    match w.remove_endpoint("acme", "orders", 1) {
        Err(Error::ConfirmationRequired { deletes, .. }) => assert_eq!(deletes, 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.counts().unwrap().pending,
        2,
        "a refused removal changes nothing"
    );
    assert_eq!(w.remove_endpoint("acme", "orders", 2).unwrap(), 2);
    assert!(w.endpoint("acme", "orders").unwrap().is_none());
    assert_eq!(w.counts().unwrap().pending, 0);
}

#[test]
fn ids_are_never_reused_across_reopens_and_restore_points() {
    let dir = std::env::temp_dir().join(format!("hs-webhook-ids-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.hs");
    let secret = Secret::generate().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..3 {
        let store = Store::open(&path, Options::new()).unwrap();
        if round == 0 {
            store
                .webhooks()
                .put_endpoint(
                    "acme",
                    "orders",
                    "https://acme.example/h",
                    std::slice::from_ref(&secret),
                )
                .unwrap();
        }
        let point = store.restore_points().create("before").unwrap();
        for _ in 0..3 {
            let e = store
                .webhooks()
                .enqueue("acme", "orders", "t", b"x", Durability::Durable)
                .unwrap();
            assert!(
                seen.insert(e.webhook_id.clone()),
                "{} handed out twice",
                e.webhook_id
            );
        }
        for d in claim(&store) {
            store.webhooks().ack(&d).unwrap();
        }
        // A restore rolls the outbox back, never the ids.
        store.restore_points().restore(point.id, "test").unwrap();
        let e = store
            .webhooks()
            .enqueue("acme", "orders", "t", b"y", Durability::Durable)
            .unwrap();
        assert!(
            seen.insert(e.webhook_id.clone()),
            "{} after a restore",
            e.webhook_id
        );
        store.close().unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_long_multibyte_last_error_still_makes_a_dead_letter_and_the_audit_keeps_no_url_token() {
    let (store, clock, _) = setup();
    store
        .webhooks()
        .put_endpoint(
            "acme",
            "slack",
            "https://hooks.example.com/services/T000/B000/SECRETTOKEN?x=1",
            &[Secret::generate().unwrap()],
        )
        .unwrap();
    let page = store
        .audit()
        .query(&hardstore::AuditQuery::new("acme").limit(10))
        .unwrap();
    let put = page
        .entries
        .iter()
        .find(|e| e.resource == "webhook_endpoint/slack")
        .unwrap();
    assert!(
        put.details.iter().all(|(_, v)| !v.contains("SECRETTOKEN")),
        "{:?}",
        put.details
    );
    store
        .webhooks()
        .enqueue("acme", "orders", "t", b"x", Durability::Durable)
        .unwrap();
    let long = "😀".repeat(1024); // 4 bytes each: over the dead-letter error limit with its prefix
    for wait in SCHEDULE_SECS {
        let d = claim(&store).remove(0);
        assert!(matches!(
            store.webhooks().fail(&d, &long).unwrap(),
            FailOutcome::Retry { .. }
        ));
        clock.advance(wait * SEC);
    }
    let d = claim(&store).remove(0);
    assert_eq!(d.attempt, 8);
    assert!(matches!(
        store.webhooks().fail(&d, &long).unwrap(),
        FailOutcome::Dead { .. }
    ));
    assert!(claim(&store).is_empty(), "no ninth attempt");
    assert!(matches!(
        verify_webhook(&[], [("webhook-id", "x")], b"", 300, 0),
        Err(Error::InvalidArgument(_))
    ));
}
