//! Dead letters: backoff bounds, the state machine (claim, ack, fail, lease lapse,
//! redrive, purge), fencing of stale workers, lists and counts, the in-process retry
//! helper, atomic writes with other areas, and a crash loop that ends in dead, both by
//! lease expiry and by killing the worker process.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use common::TempDir;
use hardstore::dead_letters::{
    retry, Failure, RetryOutcome, SplitMix64, LEASE_EXPIRED, MAX_ATTEMPTS_LIMIT,
};
use hardstore::{
    AuditEvent, Claimed, DlqCounts, DlqFilter, DlqQuery, DlqState, Durability, Error, Jitter,
    ManualClock, NewDeadLetter, Options, Outcome, RetryPolicy, Store,
};

const T0: u64 = 1_700_000_000_000_000;
const SEC: u64 = 1_000_000;
const LEASE: Duration = Duration::from_secs(30);

fn policy() -> RetryPolicy {
    RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(60)).seed(42)
}

fn open_at(clock: &ManualClock) -> Store {
    Store::in_memory(
        Options::new()
            .clock(clock.clone())
            .dead_letter_policy(policy()),
    )
    .unwrap()
}

fn letter(i: u64) -> NewDeadLetter {
    NewDeadLetter::new(
        ["acme", "globex"][(i % 2) as usize],
        ["email", "webhook", "sms"][(i % 3) as usize],
        format!("payload {i}").into_bytes(),
    )
    .error(format!("first failure of {i}"))
}

fn record(store: &Store, n: u64) -> Vec<u64> {
    (0..n)
        .map(|i| {
            store
                .dead_letters()
                .record(letter(i), Durability::Durable)
                .unwrap()
        })
        .collect()
}

fn claim_one(store: &Store) -> Claimed {
    let mut c = store.dead_letters().claim_due(1, LEASE).unwrap();
    assert_eq!(c.len(), 1, "one item is due");
    c.pop().unwrap()
}

fn counts(store: &Store) -> DlqCounts {
    store.dead_letters().counts().unwrap()
}

/// Counts must agree with a full list of each state.
fn assert_counts_match_lists(store: &Store) {
    let c = counts(store);
    for (state, want) in [
        (DlqState::Pending, c.pending),
        (DlqState::Leased, c.leased),
        (DlqState::Done, c.done),
        (DlqState::Dead, c.dead),
    ] {
        assert_eq!(
            all(store, DlqQuery::new().state(state)).len() as u64,
            want,
            "{state:?}"
        );
    }
    assert_eq!(all(store, DlqQuery::new()).len() as u64, c.total());
}

/// Every item a query matches, following cursors.
fn all(store: &Store, mut q: DlqQuery) -> Vec<hardstore::DeadLetter> {
    let mut out = Vec::new();
    loop {
        let page = store.dead_letters().list(&q).unwrap();
        out.extend(page.items);
        match page.next {
            Some(c) => q = q.after(c),
            None => return out,
        }
    }
}

#[test]
fn full_jitter_delay_is_within_its_bounds_for_every_attempt() {
    for (base_ms, cap_ms) in [(1u64, 1u64), (10, 1_000), (100, 60_000), (1, 3_600_000)] {
        let p = RetryPolicy::new(
            Duration::from_millis(base_ms),
            Duration::from_millis(cap_ms),
        );
        for seed in 0..20 {
            let mut rng = SplitMix64::new(seed);
            let mut prev = Duration::ZERO;
            for attempt in 0..80u32 {
                let ceiling = Duration::from_millis(
                    base_ms
                        .saturating_mul(1u64.checked_shl(attempt).unwrap_or(u64::MAX))
                        .min(cap_ms),
                );
                assert_eq!(p.ceiling(attempt), ceiling);
                let d = p.delay(attempt, prev, &mut rng);
                assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
                prev = d;
            }
        }
    }
}

#[test]
fn full_jitter_spreads_over_the_whole_range() {
    let p = RetryPolicy::new(Duration::from_micros(1000), Duration::from_secs(1));
    let mut rng = SplitMix64::new(7);
    let draws: Vec<Duration> = (0..4000)
        .map(|_| p.delay(0, Duration::ZERO, &mut rng))
        .collect();
    let low = draws.iter().filter(|d| d.as_micros() < 250).count();
    let high = draws.iter().filter(|d| d.as_micros() > 750).count();
    // Uniform: about a quarter each; far from what a biased or constant draw gives.
    assert!((800..1200).contains(&low), "{low}");
    assert!((800..1200).contains(&high), "{high}");
}

#[test]
fn decorrelated_delay_is_within_its_bounds_for_every_attempt() {
    let p = RetryPolicy::new(Duration::from_millis(50), Duration::from_secs(20))
        .jitter(Jitter::Decorrelated);
    for seed in 0..50 {
        let mut rng = SplitMix64::new(seed);
        let mut prev = Duration::ZERO;
        for attempt in 0..60 {
            let d = p.delay(attempt, prev, &mut rng);
            let hi = if prev.is_zero() {
                p.base * 3
            } else {
                (prev * 3).max(p.base)
            }
            .min(p.cap);
            assert!(
                d >= p.base && d <= hi,
                "attempt {attempt}: {d:?} not in [base, {hi:?}]"
            );
            prev = d;
        }
        assert!(prev <= p.cap);
    }
}

#[test]
fn a_bad_policy_is_refused_at_open() {
    for bad in [
        RetryPolicy::new(Duration::ZERO, Duration::from_secs(1)),
        RetryPolicy::new(Duration::from_secs(2), Duration::from_secs(1)),
        policy().max_attempts(0),
        policy().max_attempts(MAX_ATTEMPTS_LIMIT + 1),
    ] {
        let e = Store::in_memory(Options::new().dead_letter_policy(bad)).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    }
}

#[test]
fn record_claim_ack() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let id = dl.record(letter(1), Durability::Durable).unwrap();
    assert_eq!(id, 0);
    let got = dl.get(id).unwrap();
    assert_eq!(got.state, DlqState::Pending);
    assert_eq!(got.next_attempt_at, Some(T0));
    assert_eq!(got.max_attempts, 5);
    assert_eq!(got.last_error(), Some("first failure of 1"));
    assert_eq!(counts(&store).pending, 1);

    clock.advance(5);
    let c = claim_one(&store);
    assert_eq!((c.id, c.attempt, c.max_attempts), (id, 1, 5));
    assert_eq!(c.tenant, "globex");
    assert_eq!(c.kind, "webhook");
    assert_eq!(c.payload, b"payload 1");
    assert_eq!(c.lease_until, T0 + 5 + 30 * SEC);
    assert!(
        dl.claim_due(10, LEASE).unwrap().is_empty(),
        "leased items are not due"
    );
    assert_eq!(counts(&store).leased, 1);

    clock.advance(SEC);
    dl.ack(&c).unwrap();
    let got = dl.get(id).unwrap();
    assert_eq!(got.state, DlqState::Done);
    assert_eq!(got.attempts, 1);
    assert_eq!(got.finished_at, Some(T0 + 5 + SEC));
    assert_eq!((got.next_attempt_at, got.lease_until), (None, None));
    assert_eq!(
        counts(&store),
        DlqCounts {
            done: 1,
            ..Default::default()
        }
    );
    // Acking twice is refused: the claim is no longer held.
    assert!(matches!(dl.ack(&c), Err(Error::Fenced(_))));
    assert_counts_match_lists(&store);
}

#[test]
fn claim_takes_the_oldest_due_first_and_respects_first_attempt_at() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let late = dl
        .record(
            letter(0).first_attempt_at(T0 + 100 * SEC),
            Durability::Durable,
        )
        .unwrap();
    let ids = record(&store, 5);
    let got: Vec<u64> = dl
        .claim_due(3, LEASE)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(got, ids[..3]);
    let got: Vec<u64> = dl
        .claim_due(10, LEASE)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(got, ids[3..]);
    clock.advance(100 * SEC);
    // Now the late one is due, and so are the five whose 30 s leases ran out (due earlier).
    let got: Vec<u64> = dl
        .claim_due(10, LEASE)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(got.len(), 6);
    assert_eq!(*got.last().unwrap(), late);
}

#[test]
fn fail_reschedules_within_the_policy_then_dies_when_attempts_run_out() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let id = dl
        .record(letter(3).max_attempts(4), Durability::Durable)
        .unwrap();
    let p = policy();
    for attempt in 1..=4u32 {
        let c = claim_one(&store);
        assert_eq!(c.attempt, attempt);
        clock.advance(SEC);
        let now = clock_now(&clock);
        let out = dl.fail(&c, &format!("timeout #{attempt}"), true).unwrap();
        if attempt < 4 {
            let Outcome::Rescheduled { at } = out else {
                panic!("attempt {attempt} rescheduled, got {out:?}");
            };
            let ceiling = p.ceiling(attempt - 1).as_micros() as u64;
            assert!(at >= now && at <= now + ceiling, "attempt {attempt}");
            let got = dl.get(id).unwrap();
            assert_eq!(got.state, DlqState::Pending);
            assert_eq!(got.next_attempt_at, Some(at));
            // Not claimable before it is due.
            if at > now {
                clock.set(at - 1);
                assert!(dl.claim_due(1, LEASE).unwrap().is_empty());
            }
            clock.set(at);
        } else {
            assert_eq!(out, Outcome::Dead);
        }
    }
    let got = dl.get(id).unwrap();
    assert_eq!(got.state, DlqState::Dead);
    assert_eq!(got.attempts, 4);
    assert_eq!(got.finished_at, Some(clock_now(&clock)));
    // The full history: the recording failure, then one entry per attempt.
    let history: Vec<(u32, &str)> = got
        .history
        .iter()
        .map(|a| (a.attempt, a.error.as_str()))
        .collect();
    assert_eq!(
        history,
        vec![
            (0, "first failure of 3"),
            (1, "timeout #1"),
            (2, "timeout #2"),
            (3, "timeout #3"),
            (4, "timeout #4"),
        ]
    );
    assert!(got.history.iter().all(|a| a.retryable));
    assert!(
        dl.claim_due(10, LEASE).unwrap().is_empty(),
        "dead items are not claimed"
    );
    assert_counts_match_lists(&store);
}

#[test]
fn a_permanent_error_goes_straight_to_dead() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let id = dl.record(letter(0), Durability::Durable).unwrap();
    let c = claim_one(&store);
    assert_eq!(c.attempt, 1);
    clock.advance(SEC);
    assert_eq!(
        dl.fail(&c, "550 no such mailbox", false).unwrap(),
        Outcome::Dead
    );
    let got = dl.get(id).unwrap();
    assert_eq!(got.state, DlqState::Dead);
    assert_eq!(got.attempts, 1, "four attempts were left, none were used");
    let last = got.history.last().unwrap();
    assert_eq!((last.attempt, last.retryable), (1, false));
    assert_eq!(last.error, "550 no such mailbox");

    // Recorded as permanent: dead at once, never claimed.
    let id2 = dl
        .record(letter(1).permanent(true), Durability::Durable)
        .unwrap();
    assert_eq!(dl.get(id2).unwrap().state, DlqState::Dead);
    clock.advance(1000 * SEC);
    assert!(dl.claim_due(10, LEASE).unwrap().is_empty());
    assert_eq!(counts(&store).dead, 2);
}

#[test]
fn a_crash_loop_by_lease_expiry_ends_in_dead_after_max_attempts() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let id = dl.record(letter(0), Durability::Durable).unwrap();
    for attempt in 1..=5 {
        // A worker claims it, then "crashes": it never acks nor fails.
        let c = claim_one(&store);
        assert_eq!((c.id, c.attempt), (id, attempt));
        clock.advance(30 * SEC); // exactly the lease: it has run out
    }
    assert!(
        dl.claim_due(10, LEASE).unwrap().is_empty(),
        "no sixth attempt"
    );
    let got = dl.get(id).unwrap();
    assert_eq!(got.state, DlqState::Dead);
    assert_eq!(got.attempts, 5);
    let lapses: Vec<u32> = got
        .history
        .iter()
        .filter(|a| a.error == LEASE_EXPIRED)
        .map(|a| a.attempt)
        .collect();
    assert_eq!(lapses, vec![1, 2, 3, 4, 5]);
    // Each lapse is stamped with when its lease ended.
    assert_eq!(got.history[1].at, T0 + 30 * SEC);
    assert_eq!(counts(&store).dead, 1);
    assert_counts_match_lists(&store);
}

#[test]
fn a_stale_worker_cannot_ack_or_fail() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let id = dl.record(letter(0), Durability::Durable).unwrap();
    let stale = claim_one(&store);
    clock.advance(30 * SEC);
    // Lease ran out, not yet claimed again: still refused.
    let before = dl.get(id).unwrap();
    assert!(matches!(dl.ack(&stale), Err(Error::Fenced(_))));
    assert!(matches!(dl.fail(&stale, "x", true), Err(Error::Fenced(_))));
    assert_eq!(dl.get(id).unwrap(), before, "nothing changed");
    let fresh = claim_one(&store);
    assert_ne!(fresh.token, stale.token);
    assert_eq!(fresh.attempt, 2);
    // The new lease is live, yet the stale claim still cannot touch it.
    let before = dl.get(id).unwrap();
    assert!(matches!(dl.ack(&stale), Err(Error::Fenced(_))));
    assert!(matches!(dl.fail(&stale, "x", false), Err(Error::Fenced(_))));
    assert_eq!(dl.get(id).unwrap(), before);
    // A forged id is not found.
    let forged = Claimed {
        id: 999,
        ..fresh.clone()
    };
    assert!(matches!(dl.ack(&forged), Err(Error::NotFound(_))));
    dl.ack(&fresh).unwrap();
    // Redriven and claimed again: old tokens still refused (claims are never reset).
    let id2 = dl
        .record(letter(1).permanent(true), Durability::Durable)
        .unwrap();
    dl.redrive(id2).unwrap();
    let c1 = claim_one(&store);
    dl.fail(&c1, "down", false).unwrap();
    dl.redrive(id2).unwrap();
    let c2 = claim_one(&store);
    assert_eq!(c2.attempt, 1);
    assert!(matches!(dl.ack(&c1), Err(Error::Fenced(_))));
    dl.ack(&c2).unwrap();
}

#[test]
fn redrive_by_id_resets_attempts_and_keeps_history() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let id = dl
        .record(letter(0).max_attempts(1), Durability::Durable)
        .unwrap();
    let c = claim_one(&store);
    assert_eq!(dl.fail(&c, "boom", true).unwrap(), Outcome::Dead);
    clock.advance(10 * SEC);
    dl.redrive(id).unwrap();
    let got = dl.get(id).unwrap();
    assert_eq!(got.state, DlqState::Pending);
    assert_eq!((got.attempts, got.redrives), (0, 1));
    assert_eq!(got.next_attempt_at, Some(T0 + 10 * SEC));
    assert_eq!(got.finished_at, None);
    assert_eq!(got.history.len(), 2);
    let c = claim_one(&store);
    assert_eq!(c.attempt, 1);
    // Leased and Done items are refused, nothing changes; unknown ids are not found.
    let before = dl.get(id).unwrap();
    assert!(matches!(dl.redrive(id), Err(Error::InvalidArgument(_))));
    assert_eq!(dl.get(id).unwrap(), before);
    dl.ack(&c).unwrap();
    assert!(matches!(dl.redrive(id), Err(Error::InvalidArgument(_))));
    assert!(matches!(dl.redrive(12345), Err(Error::NotFound(_))));
    assert_counts_match_lists(&store);
}

#[test]
fn redrive_where_selects_dead_items_by_kind_tenant_and_time() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    // 30 dead items recorded one second apart, plus pending ones that must not move.
    let mut dead = Vec::new();
    for i in 0..30 {
        clock.set(T0 + i * SEC);
        dead.push((
            i,
            dl.record(letter(i).permanent(true), Durability::Durable)
                .unwrap(),
        ));
    }
    record(&store, 6);
    let f = DlqFilter::new()
        .kind("email")
        .tenant("acme")
        .time_range(Some(T0 + 6 * SEC), Some(T0 + 24 * SEC));
    // i % 3 == 0 (email), i % 2 == 0 (acme), 6 <= i < 24: 6, 12, 18.
    assert_eq!(dl.redrive_where(&f).unwrap(), 3);
    let pending: HashSet<u64> = all(&store, DlqQuery::new().state(DlqState::Pending))
        .iter()
        .map(|d| d.id)
        .collect();
    for (i, id) in &dead {
        assert_eq!(pending.contains(id), [6, 12, 18].contains(i), "item {i}");
    }
    assert_eq!(dl.redrive_where(&f).unwrap(), 0, "they are no longer dead");
    assert_eq!(dl.redrive_where(&DlqFilter::new()).unwrap(), 27);
    assert_eq!(counts(&store).dead, 0);
    let bad = DlqFilter::new().time_range(Some(5), Some(4));
    assert!(matches!(
        dl.redrive_where(&bad),
        Err(Error::InvalidArgument(_))
    ));
    assert_counts_match_lists(&store);
}

#[test]
fn redrive_where_spans_batches() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    store
        .write(Durability::Durable, |tx| {
            for i in 0..2500 {
                tx.dlq_record(&letter(i).permanent(true))?;
            }
            Ok(())
        })
        .unwrap();
    let email = (0..2500).filter(|i| i % 3 == 0).count() as u64;
    assert_eq!(
        dl.redrive_where(&DlqFilter::new().kind("email")).unwrap(),
        email
    );
    assert_eq!(counts(&store).dead, 2500 - email);
}

#[test]
fn list_filters_and_pages_in_id_order() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    for i in 0..40 {
        clock.set(T0 + i * SEC);
        dl.record(letter(i), Durability::Buffered).unwrap();
    }
    // Claim 10 and ack 5 of them, so states differ.
    let claimed = dl.claim_due(10, LEASE).unwrap();
    for c in &claimed[..5] {
        dl.ack(c).unwrap();
    }
    let ids = |v: Vec<hardstore::DeadLetter>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(all(&store, DlqQuery::new().limit(7))),
        (0..40).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(all(&store, DlqQuery::new().state(DlqState::Done).limit(2))),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        ids(all(&store, DlqQuery::new().state(DlqState::Leased))),
        vec![5, 6, 7, 8, 9]
    );
    let webhooks_acme: Vec<u64> = (0..40).filter(|i| i % 3 == 1 && i % 2 == 0).collect();
    assert_eq!(
        ids(all(
            &store,
            DlqQuery::new().kind("webhook").tenant("acme").limit(3)
        )),
        webhooks_acme
    );
    let pending_window: Vec<u64> = (20..30).filter(|i| i % 3 == 2).collect();
    assert_eq!(
        ids(all(
            &store,
            DlqQuery::new()
                .state(DlqState::Pending)
                .kind("sms")
                .time_range(Some(T0 + 20 * SEC), Some(T0 + 30 * SEC))
                .limit(1)
        )),
        pending_window
    );
    // A page that ends exactly at the last match says there is nothing more.
    let page = dl
        .list(&DlqQuery::new().state(DlqState::Done).limit(5))
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(page.next.is_none());
    // Cursors round-trip through bytes; junk is refused.
    let page = dl.list(&DlqQuery::new().limit(3)).unwrap();
    let c = page.next.unwrap();
    let c2 = hardstore::dead_letters::DlqCursor::from_bytes(&c.to_bytes()).unwrap();
    assert_eq!(
        dl.list(&DlqQuery::new().limit(3).after(c2)).unwrap().items[0].id,
        3
    );
    assert!(hardstore::dead_letters::DlqCursor::from_bytes(b"nope").is_err());
    assert!(matches!(
        dl.list(&DlqQuery::new().limit(0)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        dl.list(&DlqQuery::new().limit(10_001)),
        Err(Error::InvalidArgument(_))
    ));
    assert_counts_match_lists(&store);
}

#[test]
fn purge_removes_done_and_dead_after_the_age_counted_from_when_they_finished() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let week = 7 * 24 * 3600 * SEC;
    let ids = record(&store, 4);
    // Recorded at T0; finished 3 days later.
    clock.set(T0 + 3 * 24 * 3600 * SEC);
    let cs = dl.claim_due(3, LEASE).unwrap();
    dl.ack(&cs[0]).unwrap();
    dl.fail(&cs[1], "bad", false).unwrap();
    let finished = clock_now(&clock);
    // 7 days after recording, but not after finishing: kept.
    clock.set(T0 + week);
    assert_eq!(dl.purge(None).unwrap(), 0);
    clock.set(finished + week - 1);
    assert_eq!(dl.purge(None).unwrap(), 0);
    clock.set(finished + week);
    assert_eq!(dl.purge(None).unwrap(), 2);
    assert!(matches!(dl.get(ids[0]), Err(Error::NotFound(_))));
    assert!(matches!(dl.get(ids[1]), Err(Error::NotFound(_))));
    // The leased one (lease long gone) and the pending one stay.
    assert_eq!(dl.get(ids[2]).unwrap().state, DlqState::Leased);
    assert_eq!(dl.get(ids[3]).unwrap().state, DlqState::Pending);
    assert_eq!(counts(&store).total(), 2);
    assert_counts_match_lists(&store);
}

fn clock_now(c: &ManualClock) -> u64 {
    use hardstore::Clock;
    c.now()
}

#[test]
fn purge_age_is_configurable_and_limit_bounds_it() {
    let clock = ManualClock::new(T0);
    let store = Store::in_memory(
        Options::new()
            .clock(clock.clone())
            .dead_letter_purge_after(Duration::from_secs(60)),
    )
    .unwrap();
    let dl = store.dead_letters();
    for i in 0..2500 {
        dl.record(letter(i).permanent(true), Durability::Buffered)
            .unwrap();
    }
    clock.advance(59 * SEC);
    assert_eq!(dl.purge(None).unwrap(), 0);
    clock.advance(SEC);
    assert_eq!(dl.purge(Some(10)).unwrap(), 10);
    assert_eq!(dl.purge(Some(1500)).unwrap(), 1500);
    assert_eq!(dl.purge(None).unwrap(), 990);
    assert_eq!(counts(&store), DlqCounts::default());
    // Ids are never reused after a purge.
    assert_eq!(dl.record(letter(0), Durability::Durable).unwrap(), 2500);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let dl = store.dead_letters();
    let too_long = |e: Error, f: &str| matches!(e, Error::TooLong { field, .. } if field == f);
    let e = dl
        .record(
            NewDeadLetter::new("t".repeat(129), "email", vec![]),
            Durability::Durable,
        )
        .unwrap_err();
    assert!(too_long(e, "tenant"));
    let e = dl
        .record(
            NewDeadLetter::new("t", "k".repeat(129), vec![]),
            Durability::Durable,
        )
        .unwrap_err();
    assert!(too_long(e, "kind"));
    let e = dl
        .record(
            NewDeadLetter::new("t", "email", vec![0; (1 << 20) + 1]),
            Durability::Durable,
        )
        .unwrap_err();
    assert!(too_long(e, "payload"));
    let e = dl
        .record(letter(0).error("e".repeat(4097)), Durability::Durable)
        .unwrap_err();
    assert!(too_long(e, "error"));
    for bad in [
        NewDeadLetter::new("t", "", vec![]),
        letter(0).max_attempts(0),
        letter(0).max_attempts(MAX_ATTEMPTS_LIMIT + 1),
    ] {
        let e = dl.record(bad, Durability::Durable).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    }
    assert_eq!(counts(&store), DlqCounts::default());
    // The limits themselves are accepted.
    dl.record(
        NewDeadLetter::new("t".repeat(128), "k".repeat(128), vec![7; 1 << 20])
            .error("e".repeat(4096))
            .max_attempts(MAX_ATTEMPTS_LIMIT),
        Durability::Durable,
    )
    .unwrap();
    assert!(matches!(
        dl.claim_due(0, LEASE),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        dl.claim_due(10_001, LEASE),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        dl.claim_due(1, Duration::from_nanos(999)),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(counts(&store).pending, 1, "refused claims leased nothing");
    let c = claim_one(&store);
    assert_eq!(c.payload.len(), 1 << 20);
    let before = dl.get(c.id).unwrap();
    let e = dl.fail(&c, &"e".repeat(4097), true).unwrap_err();
    assert!(too_long(e, "error"));
    assert_eq!(dl.get(c.id).unwrap(), before);
    assert!(matches!(dl.get(99), Err(Error::NotFound(_))));
}

#[test]
fn a_dead_letter_commits_atomically_with_other_areas() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    // Both commit together...
    let id = store
        .write(Durability::Durable, |tx| {
            tx.audit_append(&AuditEvent::new("acme", "webhook.failed"))?;
            tx.dlq_record(&letter(0))
        })
        .unwrap();
    assert_eq!(store.audit().size().unwrap(), 1);
    assert_eq!(
        store.dead_letters().get(id).unwrap().state,
        DlqState::Pending
    );
    // ...or neither does.
    let e = store
        .write(Durability::Durable, |tx| {
            tx.dlq_record(&letter(1))?;
            tx.audit_append(&AuditEvent::new("acme", ""))
        })
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert_eq!(counts(&store).total(), 1);
    assert_eq!(store.audit().size().unwrap(), 1);
    // Ack inside a write, with the app's own record of the work.
    let c = claim_one(&store);
    store
        .write(Durability::Durable, move |tx| {
            tx.dlq_ack(&c)?;
            tx.audit_append(&AuditEvent::new("acme", "webhook.delivered"))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(store.dead_letters().get(id).unwrap().state, DlqState::Done);
    assert_eq!(store.audit().size().unwrap(), 2);
    // A write whose ack is refused (stale) leaves the audit log alone too.
    let id2 = store
        .dead_letters()
        .record(letter(2), Durability::Durable)
        .unwrap();
    let c = claim_one(&store);
    assert_eq!(c.id, id2);
    clock.advance(31 * SEC);
    let e = store
        .write(Durability::Durable, move |tx| {
            tx.audit_append(&AuditEvent::new("acme", "webhook.delivered"))?;
            tx.dlq_fail(&c, "late", true)
        })
        .unwrap_err();
    assert!(matches!(e, Error::Fenced(_)));
    assert_eq!(store.audit().size().unwrap(), 2);
}

#[test]
fn concurrent_workers_claim_each_item_exactly_once() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    store
        .write(Durability::Durable, |tx| {
            for i in 0..400 {
                tx.dlq_record(&letter(i))?;
            }
            Ok(())
        })
        .unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (store, seen) = (&store, &seen);
            s.spawn(move || loop {
                let cs = store.dead_letters().claim_due(3, LEASE).unwrap();
                if cs.is_empty() {
                    return;
                }
                for c in cs {
                    store.dead_letters().ack(&c).unwrap();
                    seen.lock().unwrap().push(c.id);
                }
            });
        }
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    assert_eq!(seen, (0..400).collect::<Vec<_>>());
    assert_eq!(counts(&store).done, 400);
}

#[test]
fn state_survives_reopen_and_seeded_delays_repeat() {
    let dir = TempDir::new("dlq-reopen");
    let path = dir.file("s.hardstore");
    let clock = ManualClock::new(T0);
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .dead_letter_policy(policy())
    };
    let mut runs = Vec::new();
    for run in 0..2 {
        let _ = std::fs::remove_file(&path);
        let store = Store::open(&path, opts()).unwrap();
        clock.set(T0);
        record(&store, 3);
        let cs = store.dead_letters().claim_due(3, LEASE).unwrap();
        let at: Vec<Outcome> = cs
            .iter()
            .map(|c| store.dead_letters().fail(c, "e", true).unwrap())
            .collect();
        store.close().unwrap();
        let store = Store::open(&path, opts()).unwrap();
        let dl = store.dead_letters();
        for (c, o) in cs.iter().zip(&at) {
            let Outcome::Rescheduled { at } = o else {
                panic!()
            };
            assert_eq!(dl.get(c.id).unwrap().next_attempt_at, Some(*at));
        }
        assert_eq!(counts(&store).pending, 3);
        assert_eq!(
            dl.record(letter(9), Durability::Durable).unwrap(),
            3,
            "ids go on"
        );
        runs.push(at);
        let _ = run;
    }
    assert_eq!(runs[0], runs[1], "the same seed gives the same delays");
}

#[test]
fn retry_helper_succeeds_or_leaves_a_dead_letter() {
    let clock = ManualClock::new(T0);
    let store = open_at(&clock);
    let fast = RetryPolicy::new(Duration::from_micros(10), Duration::from_micros(100))
        .max_attempts(4)
        .seed(1);
    // Succeeds on the third try.
    let out = retry(&store, &fast, "acme", "email", b"hi", |attempt| {
        if attempt < 3 {
            Err(format!("try {attempt} failed"))
        } else {
            Ok(attempt * 10)
        }
    })
    .unwrap();
    assert_eq!(
        out,
        RetryOutcome::Succeeded {
            value: 30,
            attempts: 3
        }
    );
    assert_eq!(counts(&store).total(), 0);

    // Runs out: a pending dead letter for the scheduled retries.
    let mut tries = 0;
    let out = retry(
        &store,
        &fast,
        "acme",
        "webhook",
        b"{}",
        |_| -> Result<(), &str> {
            tries += 1;
            Err("503")
        },
    )
    .unwrap();
    assert_eq!(tries, 4);
    let RetryOutcome::DeadLettered {
        id,
        attempts,
        error,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!((attempts, error.as_str()), (4, "503"));
    let d = store.dead_letters().get(id).unwrap();
    assert_eq!(d.state, DlqState::Pending);
    assert_eq!(
        (d.tenant.as_str(), d.kind.as_str(), d.payload.as_slice()),
        ("acme", "webhook", &b"{}"[..])
    );
    assert_eq!(d.last_error(), Some("after 4 in-process attempts: 503"));
    assert_eq!(
        d.max_attempts, 5,
        "the store's default for scheduled retries"
    );

    // A permanent failure stops at once and is recorded dead.
    let mut tries = 0;
    let out = retry(
        &store,
        &fast,
        "acme",
        "email",
        b"x",
        |_| -> Result<(), Failure> {
            tries += 1;
            Err(Failure::permanent("no such user"))
        },
    )
    .unwrap();
    assert_eq!(tries, 1);
    let RetryOutcome::DeadLettered { id, .. } = out else {
        panic!()
    };
    assert_eq!(store.dead_letters().get(id).unwrap().state, DlqState::Dead);

    // A very long error is cut, not lost.
    let out = retry(
        &store,
        &fast.max_attempts(1),
        "acme",
        "email",
        b"x",
        |_| -> Result<(), String> { Err("é".repeat(5000)) },
    )
    .unwrap();
    let RetryOutcome::DeadLettered { id, .. } = out else {
        panic!()
    };
    assert!(
        store
            .dead_letters()
            .get(id)
            .unwrap()
            .last_error()
            .unwrap()
            .len()
            <= 4096
    );

    // Bad arguments are refused before the operation runs.
    let mut ran = false;
    let e = retry(&store, &fast, "acme", "", b"x", |_| -> Result<(), String> {
        ran = true;
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    assert!(!ran);
}

#[test]
fn retry_helper_sleeps_between_tries() {
    let store = Store::in_memory(Options::new()).unwrap();
    let p = RetryPolicy::new(Duration::from_millis(20), Duration::from_millis(20))
        .jitter(Jitter::Decorrelated)
        .max_attempts(3);
    // Decorrelated jitter with base = cap: every delay is exactly 20 ms.
    let started = std::time::Instant::now();
    let out = retry(&store, &p, "", "job", b"", |a| {
        if a < 3 {
            Err("no")
        } else {
            Ok(())
        }
    })
    .unwrap();
    assert!(matches!(out, RetryOutcome::Succeeded { attempts: 3, .. }));
    assert!(started.elapsed() >= Duration::from_millis(40));
}

const CHILD_ENV: &str = "HARDSTORE_DLQ_CRASH_CHILD";
const CHILD_TIME_ENV: &str = "HARDSTORE_DLQ_CRASH_TIME";

/// The crash-loop child: opens the store at the time it is given, claims what is due,
/// reports it, and dies without acking (abort: no destructor, no close). A no-op unless
/// the parent started this binary as the child.
#[test]
fn dlq_crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let now: u64 = std::env::var(CHILD_TIME_ENV).unwrap().parse().unwrap();
    let store = Store::open(&path, Options::new().clock(ManualClock::new(now))).unwrap();
    let cs = store.dead_letters().claim_due(10, LEASE).unwrap();
    for c in &cs {
        println!("CLAIMED {} {}", c.id, c.attempt);
    }
    println!("END");
    std::process::abort();
}

#[test]
fn a_crash_loop_by_killed_workers_ends_in_dead_after_max_attempts() {
    let dir = TempDir::new("dlq-crash");
    let path = dir.file("s.hardstore");
    let id = {
        let store = Store::open(&path, Options::new().clock(ManualClock::new(T0))).unwrap();
        let id = store
            .dead_letters()
            .record(letter(0), Durability::Durable)
            .unwrap();
        store.close().unwrap();
        id
    };
    let exe = std::env::current_exe().unwrap();
    let mut attempts = Vec::new();
    for run in 0..7u64 {
        // Each worker starts after the previous one's lease has run out.
        let now = T0 + run * 31 * SEC;
        let out = Command::new(&exe)
            .args([
                "dlq_crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .env(CHILD_TIME_ENV, now.to_string())
            .output()
            .unwrap();
        assert!(!out.status.success(), "the child aborts");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("END"), "the child ran: {text}");
        // The harness may print "test dlq_crash_child ... " before the first line.
        for line in text.lines().filter_map(|l| l.split("CLAIMED ").nth(1)) {
            let v: Vec<u64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
            assert_eq!(v[0], id);
            attempts.push(v[1]);
        }
    }
    assert_eq!(attempts, vec![1, 2, 3, 4, 5], "five claims, then no more");
    let store = Store::open(
        &path,
        Options::new().clock(ManualClock::new(T0 + 1000 * SEC)),
    )
    .unwrap();
    let d = store.dead_letters().get(id).unwrap();
    assert_eq!(d.state, DlqState::Dead);
    assert_eq!(d.attempts, 5);
    assert_eq!(
        d.history
            .iter()
            .filter(|a| a.error == LEASE_EXPIRED)
            .count(),
        5
    );
    assert_eq!(counts(&store).dead, 1);
}
