//! The maintenance fuzz target's body: expiring records of three areas, time, step sizes
//! and reopens against a model of what each run may delete.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Bytes, SharedMemoryBackend};
use crate::alerts::{NewAlert, Severity};
use crate::dead_letters::NewDeadLetter;
use crate::maintenance::MaintenanceOptions;
use crate::{Begin, Durability, ManualClock, Options, Store};

const TTL: u64 = 1_000;
const DLQ_AGE: u64 = 2_000;
const ALERT_AGE: u64 = 3_000;

/// Maintenance deletes exactly what expired and nothing else: after runs until nothing
/// more is due, every expired dead letter and resolved alert is gone and every young one
/// kept (counts match the model exactly, and no run exceeds its step); idempotency keys
/// past their TTL are gone (some go in passing, at a completion) and younger ones stay.
pub fn maintenance_model(data: &[u8]) {
    let mut input = Bytes(data);
    let clock = ManualClock::new(10_000_000);
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .idempotency_ttl(Duration::from_micros(TTL))
            .dead_letter_purge_after(Duration::from_micros(DLQ_AGE))
            .alert_retention(Duration::from_micros(ALERT_AGE))
    };
    let backend = SharedMemoryBackend::default();
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    // Id -> when it became Dead / was resolved; key -> when it expires.
    let mut dead: BTreeMap<u64, u64> = BTreeMap::new();
    let mut resolved: BTreeMap<u64, u64> = BTreeMap::new();
    let mut keys: BTreeMap<String, u64> = BTreeMap::new();
    let mut n = 0u64;
    let mut steps = 0;
    while !input.done() && steps < 150 {
        steps += 1;
        let now = crate::Clock::now(&clock);
        match input.u8() % 6 {
            0 => {
                let d = NewDeadLetter::new("a", "k", vec![1]).permanent(true);
                let id = store
                    .dead_letters()
                    .record(d, Durability::Durable)
                    .expect("record");
                dead.insert(id, now);
            }
            1 => {
                n += 1;
                let a = NewAlert::new("a", "s", format!("k{n}"), Severity::Info, "");
                let id = store
                    .alerts()
                    .raise(a, Durability::Durable)
                    .expect("raise")
                    .id;
                store.alerts().resolve(id, "bot", "").expect("resolve");
                resolved.insert(id, now);
            }
            2 => {
                n += 1;
                let key = format!("key{n}");
                let lease = Duration::from_secs(60);
                match store
                    .idempotency()
                    .begin("a", &key, b"r", lease)
                    .expect("begin")
                {
                    Begin::Started(t) => store
                        .idempotency()
                        .complete(&t, None, b"")
                        .expect("complete"),
                    other => panic!("a new key: {other:?}"),
                }
                keys.insert(key, now + TTL);
            }
            3 => clock.advance(u64::from(input.u8()) * 40),
            4 => {
                let step = 1 + usize::from(input.u8() % 4);
                let o = MaintenanceOptions::new().step(step);
                let (mut dlq, mut alerts) = (0u64, 0u64);
                for run in 0.. {
                    assert!(run < 1000, "maintenance never finished");
                    let r = store.maintenance(&o).expect("maintenance");
                    assert!(r.errors.is_empty(), "{:?}", r.errors);
                    let s = step as u64;
                    assert!(r.dead_letters_purged <= s && r.alerts_purged <= s);
                    assert!(r.idempotency_expired <= s);
                    dlq += r.dead_letters_purged;
                    alerts += r.alerts_purged;
                    if !r.more_due {
                        break;
                    }
                }
                let t = crate::Clock::now(&clock);
                let before = (dead.len(), resolved.len());
                dead.retain(|_, at| *at + DLQ_AGE > t);
                resolved.retain(|_, at| *at + ALERT_AGE > t);
                assert_eq!(dlq, (before.0 - dead.len()) as u64, "dead letters purged");
                assert_eq!(alerts, (before.1 - resolved.len()) as u64, "alerts purged");
                keys.retain(|_, exp| *exp > t);
            }
            _ => {
                store.close().expect("close");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopen");
            }
        }
        assert_eq!(
            store.dead_letters().counts().expect("counts").dead,
            dead.len() as u64
        );
        assert_eq!(
            store.alerts().counts().expect("counts").resolved,
            resolved.len() as u64
        );
        let t = crate::Clock::now(&clock);
        for (key, exp) in &keys {
            if *exp > t {
                assert!(
                    store.idempotency().get("a", key).expect("get").is_some(),
                    "{key} went young"
                );
            }
        }
    }
    store.close().expect("close");
}
