mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::TempDir;
use hardstore::idempotency::KeyState;
use hardstore::{AuditEvent, Begin, Durability, Error, ManualClock, Options, Store};

const LEASE: Duration = Duration::from_secs(60);
const SEC: u64 = 1_000_000;

fn started(b: Begin) -> hardstore::IdemToken {
    match b {
        Begin::Started(t) => t,
        other => panic!("expected Started, got {other:?}"),
    }
}

#[test]
fn begin_answers_started_replay_in_progress_or_mismatch() {
    let dir = TempDir::new("idem");
    let clock = ManualClock::new(1_000 * SEC);
    let store = Store::open(dir.file("s.hs"), Options::new().clock(clock.clone())).unwrap();
    let idem = store.idempotency();
    let req = b"POST /orders\n{\"sku\":1}";
    let t = started(idem.begin("acme", "k1", req, LEASE).unwrap());
    assert!(t.fence > 0);
    clock.advance(5 * SEC);
    match idem.begin("acme", "k1", req, LEASE).unwrap() {
        Begin::InProgress { retry_after } => assert_eq!(retry_after, Duration::from_secs(55)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        idem.begin("acme", "k1", b"POST /orders\n{\"sku\":2}", LEASE)
            .unwrap(),
        Begin::Mismatch
    );
    // Another tenant's key of the same name is separate.
    started(idem.begin("globex", "k1", req, LEASE).unwrap());
    idem.complete(&t, Some(201), b"{\"id\":7}").unwrap();
    match idem.begin("acme", "k1", req, LEASE).unwrap() {
        Begin::Replay(r) => {
            assert_eq!(
                (r.status, r.body.as_slice(), r.failed),
                (Some(201), &b"{\"id\":7}"[..], false)
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        idem.begin("acme", "k1", b"other", LEASE).unwrap(),
        Begin::Mismatch
    );
    // Completing twice is refused: the key is no longer held.
    assert!(matches!(
        idem.complete(&t, None, b"x"),
        Err(Error::Fenced(_))
    ));
    // fail caches a terminal failure; release frees the key.
    let f = started(idem.begin("acme", "k2", req, LEASE).unwrap());
    idem.fail(&f, Some(400), b"bad card").unwrap();
    match idem.begin("acme", "k2", req, LEASE).unwrap() {
        Begin::Replay(r) => assert!(r.failed && r.body == b"bad card"),
        other => panic!("{other:?}"),
    }
    let r = started(idem.begin("acme", "k3", req, LEASE).unwrap());
    idem.release(&r).unwrap();
    let again = started(
        idem.begin("acme", "k3", b"different is fine now", LEASE)
            .unwrap(),
    );
    assert!(again.fence > r.fence);
    assert_eq!(
        idem.get("acme", "k3").unwrap().unwrap().state,
        KeyState::InProgress
    );
    // Bad input.
    assert!(matches!(
        idem.begin("acme", &"k".repeat(256), req, LEASE),
        Err(Error::TooLong { .. })
    ));
    assert!(idem.begin("", "k", req, LEASE).is_err());
    assert!(idem.begin("acme", "", req, LEASE).is_err());
}

#[test]
fn a_fenced_holder_cannot_complete_and_the_new_one_gets_the_recovery_point() {
    let dir = TempDir::new("fence");
    let clock = ManualClock::new(1_000 * SEC);
    let store = Store::open(dir.file("s.hs"), Options::new().clock(clock.clone())).unwrap();
    let idem = store.idempotency();
    let old = started(
        idem.begin("t", "k", b"req", Duration::from_secs(10))
            .unwrap(),
    );
    idem.save_recovery(&old, "charged", b"charge_123").unwrap();
    clock.advance(9 * SEC);
    idem.renew(&old, Duration::from_secs(10)).unwrap();
    clock.advance(9 * SEC);
    assert!(
        matches!(
            idem.begin("t", "k", b"req", LEASE).unwrap(),
            Begin::InProgress { .. }
        ),
        "the renewed lease still holds"
    );
    clock.advance(2 * SEC);
    let new = started(idem.begin("t", "k", b"req", LEASE).unwrap());
    assert_eq!(new.fence, old.fence + 1);
    assert_eq!(
        new.recovery,
        Some(("charged".to_string(), b"charge_123".to_vec()))
    );
    // Every move of the old holder is refused, and changes nothing.
    assert!(matches!(
        idem.complete(&old, Some(200), b"late"),
        Err(Error::Fenced(_))
    ));
    assert!(matches!(idem.release(&old), Err(Error::Fenced(_))));
    assert!(matches!(idem.renew(&old, LEASE), Err(Error::Fenced(_))));
    assert!(matches!(
        idem.save_recovery(&old, "x", b""),
        Err(Error::Fenced(_))
    ));
    // Atomically with app state: a fenced completion rolls the whole write back.
    let stale = old.clone();
    let err = store
        .write(Durability::Durable, move |tx| {
            tx.kv_put("orders", b"k", b"paid twice")?;
            tx.audit_append(&AuditEvent::new("t", "order.paid"))?;
            tx.idem_complete(&stale, Some(200), b"late")
        })
        .unwrap_err();
    assert!(matches!(err, Error::Fenced(_)));
    assert_eq!(store.kv_get("orders", b"k").unwrap(), None);
    assert_eq!(store.audit().size().unwrap(), 0);
    // Abandon: the lease ends now, the recovery point stays, the next begin takes over.
    idem.save_recovery(&new, "charged", b"charge_456").unwrap();
    idem.abandon(&new).unwrap();
    let newer = started(idem.begin("t", "k", b"req", LEASE).unwrap());
    assert!(newer.fence > new.fence);
    assert_eq!(
        newer.recovery,
        Some(("charged".to_string(), b"charge_456".to_vec()))
    );
    assert!(matches!(
        idem.complete(&new, Some(200), b"late"),
        Err(Error::Fenced(_))
    ));
    assert!(matches!(idem.abandon(&new), Err(Error::Fenced(_))));
    let new = newer;
    idem.complete(&new, Some(200), b"ok").unwrap();
    match idem.begin("t", "k", b"req", LEASE).unwrap() {
        Begin::Replay(r) => assert_eq!(r.body, b"ok"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn keys_expire_exactly_at_the_ttl_and_purge_spares_live_ones() {
    let dir = TempDir::new("ttl");
    let clock = ManualClock::new(1_000 * SEC);
    let store = Store::open(
        dir.file("s.hs"),
        Options::new()
            .clock(clock.clone())
            .idempotency_ttl(Duration::from_secs(100)),
    )
    .unwrap();
    let idem = store.idempotency();
    let t = started(idem.begin("t", "a", b"r", LEASE).unwrap());
    idem.complete(&t, None, b"done").unwrap();
    clock.advance(50 * SEC);
    let b = started(idem.begin("t", "b", b"r", LEASE).unwrap());
    idem.complete(&b, None, b"done").unwrap();
    clock.advance(50 * SEC - 1); // one microsecond before "a" expires
    assert!(matches!(
        idem.begin("t", "a", b"r", LEASE).unwrap(),
        Begin::Replay(_)
    ));
    clock.advance(1); // exactly at expiry: absent
    assert_eq!(idem.get("t", "a").unwrap(), None);
    assert_eq!(idem.purge_expired(100).unwrap(), 1);
    assert!(
        idem.get("t", "b").unwrap().is_some(),
        "purge leaves unexpired keys alone"
    );
    started(idem.begin("t", "a", b"another request", LEASE).unwrap());
    assert_eq!(idem.purge_expired(100).unwrap(), 0);
    clock.advance(1_000 * SEC);
    // Bounded batches.
    for i in 0..30 {
        let t = started(idem.begin("t", &format!("x{i}"), b"r", LEASE).unwrap());
        idem.complete(&t, None, b"").unwrap();
    }
    clock.advance(1_000 * SEC);
    assert_eq!(idem.purge_expired(10).unwrap(), 10);
    assert!(idem.purge_expired(1_000).unwrap() >= 20);
}

/// What one thread saw in one round: its first answer and its answer after completion.
/// Threads record instead of panicking, so one bad answer fails the test at the end
/// rather than leaving the others waiting at a barrier forever.
#[derive(Debug, PartialEq)]
enum Seen {
    Started,
    InProgress,
    Other(String),
}

/// One thread's round: its first answer, and the body it replayed after completion.
type Round = (Seen, Result<Vec<u8>, String>);

#[test]
fn sixty_four_threads_race_one_key_a_thousand_times() {
    let dir = TempDir::new("race");
    let store = Store::open(dir.file("s.hs"), Options::new()).unwrap();
    let threads = 64;
    let rounds = 1_000;
    let barrier = Arc::new(Barrier::new(threads));
    let results: Vec<Vec<Round>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let (store, barrier) = (&store, barrier.clone());
                s.spawn(move || {
                    let idem = store.idempotency();
                    let mut out = Vec::with_capacity(rounds);
                    for round in 0..rounds {
                        let key = format!("key-{round}");
                        barrier.wait();
                        let first = idem.begin("t", &key, b"same request", LEASE);
                        // Everyone has its first answer before the winner completes.
                        barrier.wait();
                        let seen = match first {
                            Ok(Begin::Started(tok)) => {
                                match idem.complete(&tok, Some(200), key.as_bytes()) {
                                    Ok(()) => Seen::Started,
                                    Err(e) => Seen::Other(format!("complete: {e}")),
                                }
                            }
                            Ok(Begin::InProgress { .. }) => Seen::InProgress,
                            other => Seen::Other(format!("{other:?}")),
                        };
                        barrier.wait();
                        // After completion every caller replays the identical response.
                        let replay = match idem.begin("t", &key, b"same request", LEASE) {
                            Ok(Begin::Replay(r)) => Ok(r.body),
                            other => Err(format!("{other:?}")),
                        };
                        out.push((seen, replay));
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for round in 0..rounds {
        let winners = results
            .iter()
            .filter(|r| r[round].0 == Seen::Started)
            .count();
        assert_eq!(winners, 1, "round {round}: exactly one Started");
        let waiting = results
            .iter()
            .filter(|r| r[round].0 == Seen::InProgress)
            .count();
        assert_eq!(waiting, threads - 1, "round {round}: the rest InProgress");
        let expected = Ok(format!("key-{round}").into_bytes());
        assert!(
            results.iter().all(|r| r[round].1 == expected),
            "round {round}"
        );
    }
}

#[test]
fn begun_keys_live_in_memory_and_recovery_points_survive_a_reopen() {
    let dir = TempDir::new("reopen");
    let clock = ManualClock::new(1_000 * SEC);
    let opts = || Options::new().clock(clock.clone());
    let store = Store::open(dir.file("s.hs"), opts()).unwrap();
    let plain = started(
        store
            .idempotency()
            .begin("t", "plain", b"r", LEASE)
            .unwrap(),
    );
    let saved = started(
        store
            .idempotency()
            .begin("t", "saved", b"r", LEASE)
            .unwrap(),
    );
    store
        .idempotency()
        .save_recovery(&saved, "charged", b"ch_1")
        .unwrap();
    let done = started(store.idempotency().begin("t", "done", b"r", LEASE).unwrap());
    store
        .idempotency()
        .complete(&done, Some(201), b"ok")
        .unwrap();
    store.close().unwrap();

    // The holders are gone with the old open: their keys are taken over at once (the
    // leases had 60 s left), the recovery point is handed on, the old tokens are fenced.
    let store = Store::open(dir.file("s.hs"), opts()).unwrap();
    let idem = store.idempotency();
    assert_eq!(
        idem.get("t", "saved").unwrap().unwrap().state,
        KeyState::InProgress
    );
    assert_eq!(idem.get("t", "plain").unwrap(), None, "never written");
    let p = started(idem.begin("t", "plain", b"r", LEASE).unwrap());
    let s = started(idem.begin("t", "saved", b"r", LEASE).unwrap());
    assert!(p.fence > saved.fence && s.fence > saved.fence);
    assert_eq!(s.recovery, Some(("charged".to_string(), b"ch_1".to_vec())));
    assert_eq!(p.recovery, None);
    assert!(matches!(
        idem.begin("t", "saved", b"other", LEASE).unwrap(),
        Begin::Mismatch
    ));
    for old in [&plain, &saved] {
        assert!(matches!(
            idem.complete(old, None, b"late"),
            Err(Error::Fenced(_))
        ));
    }
    match idem.begin("t", "done", b"r", LEASE).unwrap() {
        Begin::Replay(r) => assert_eq!((r.status, r.body), (Some(201), b"ok".to_vec())),
        other => panic!("{other:?}"),
    }
    idem.complete(&s, Some(201), b"resumed").unwrap();

    // A begin inside a write that does not commit leaves the key absent.
    let err = store
        .write(Durability::Durable, |tx| {
            tx.idem_begin("t", "rolled-back", b"r", LEASE)?;
            Err::<(), _>(Error::InvalidArgument("the app changed its mind".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    assert_eq!(idem.get("t", "rolled-back").unwrap(), None);
    started(idem.begin("t", "rolled-back", b"r", LEASE).unwrap());
    // A completion whose write fails for another reason leaves the holder holding.
    let q = started(idem.begin("t", "retry-me", b"r", LEASE).unwrap());
    let q2 = q.clone();
    let err = store
        .write(Durability::Durable, move |tx| {
            tx.idem_complete(&q2, Some(201), b"x")?;
            tx.kv_put("", b"k", b"v") // an empty namespace is refused
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    assert!(matches!(
        idem.begin("t", "retry-me", b"r", LEASE).unwrap(),
        Begin::InProgress { .. }
    ));
    idem.complete(&q, Some(201), b"second try").unwrap();
}

#[test]
fn a_takeover_in_a_write_that_does_not_commit_leaves_the_old_holder_holding() {
    let dir = TempDir::new("undo-takeover");
    let clock = ManualClock::new(1_000 * SEC);
    let store = Store::open(dir.file("s.hs"), Options::new().clock(clock.clone())).unwrap();
    let idem = store.idempotency();
    let holder = started(idem.begin("t", "k", b"r", Duration::from_secs(1)).unwrap());
    clock.advance(2 * SEC); // the lease ran out; nobody took over yet
    let err = store
        .write(Durability::Durable, |tx| {
            let b = tx.idem_begin("t", "k", b"r", LEASE)?;
            assert!(matches!(b, Begin::Started(_)), "{b:?}");
            Err::<(), _>(Error::InvalidArgument("abandoned".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    assert_eq!(idem.get("t", "k").unwrap().unwrap().fence, holder.fence);
    idem.complete(&holder, Some(200), b"late but fine").unwrap();
    match idem.begin("t", "k", b"r", LEASE).unwrap() {
        Begin::Replay(r) => assert_eq!(r.body, b"late but fine"),
        other => panic!("{other:?}"),
    }
}
