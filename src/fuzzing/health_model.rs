//! The health fuzz target's body: thresholds, dead letters, request logs, time and
//! reopens against a model of the grades and of the alerts health keeps.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Bytes, SharedMemoryBackend};
use crate::alerts::Severity;
use crate::dead_letters::NewDeadLetter;
use crate::health::{Grade, HealthOptions, HealthThresholds};
use crate::{Durability, Error, Level, LogRecord, ManualClock, Options, Store};

fn grade_of(v: u64, degraded: u64, critical: u64) -> Grade {
    if v >= critical {
        Grade::Critical
    } else if v >= degraded {
        Grade::Degraded
    } else {
        Grade::Healthy
    }
}

/// The model's grade of the request figures: `logs` are (time, level, duration µs).
fn requests_grade(logs: &[(u64, Level, u64)], t: &HealthThresholds, now: u64) -> Grade {
    let from = now.saturating_sub(t.window.as_micros() as u64);
    let window: Vec<_> = logs.iter().filter(|l| l.0 >= from).collect();
    if window.is_empty() {
        return Grade::Healthy;
    }
    let errors = window.iter().filter(|l| l.1.is_error()).count() as u64;
    let permille = errors * 1000 / window.len() as u64;
    let mut d: Vec<u64> = window.iter().map(|l| l.2).collect();
    d.sort_unstable();
    let p95 = d[(d.len() * 95).div_ceil(100).max(1) - 1];
    let by_errors = grade_of(
        permille,
        u64::from(t.error_permille_degraded),
        u64::from(t.error_permille_critical),
    );
    let by_latency = grade_of(
        p95,
        t.p95_degraded.as_micros() as u64,
        t.p95_critical.as_micros() as u64,
    );
    by_errors.max(by_latency)
}

/// Health checks never panic and grade dead letters and requests as a model computed
/// from the thresholds does; bad thresholds are refused and change nothing; with
/// `raise_alerts`, the open health alert of each component follows its grade (raised
/// on a change to degraded or critical, resolved on a return to healthy, untouched
/// otherwise), across reopens.
pub fn health_model(data: &[u8]) {
    const LEVELS: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];
    let mut input = Bytes(data);
    let clock = ManualClock::new(1_000_000_000);
    let opts = || Options::new().clock(clock.clone());
    let backend = SharedMemoryBackend::default();
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    let mut t = HealthThresholds::default();
    let mut dead = 0u64;
    let mut logs: Vec<(u64, Level, u64)> = Vec::new();
    // Component -> severity of its open health alert.
    let mut open: BTreeMap<&'static str, Severity> = BTreeMap::new();
    let mut steps = 0;
    while !input.done() && steps < 150 {
        steps += 1;
        let now = crate::Clock::now(&clock);
        match input.u8() % 6 {
            0 => {
                let (a, b, c, d) = (input.u8(), input.u8(), input.u8(), input.u8());
                let next = HealthThresholds {
                    window: Duration::from_secs(u64::from(a % 8) * 30),
                    error_permille_degraded: u32::from(b) * 4,
                    error_permille_critical: u32::from(c) * 4,
                    p95_degraded: Duration::from_millis(u64::from(d % 16) * 10),
                    p95_critical: Duration::from_millis(u64::from(d / 16) * 20),
                    dead_letters_degraded: u64::from(a / 8 % 4),
                    dead_letters_critical: u64::from(b % 8),
                    ..HealthThresholds::default()
                };
                let valid = !next.window.is_zero()
                    && next.error_permille_degraded <= next.error_permille_critical
                    && next.error_permille_critical <= 1000
                    && next.p95_degraded <= next.p95_critical
                    && next.dead_letters_degraded <= next.dead_letters_critical;
                match store.settings().set_health_thresholds(next.clone()) {
                    Ok(_) => {
                        assert!(valid, "{next:?} was accepted");
                        t = next;
                    }
                    Err(Error::InvalidArgument(_)) => assert!(!valid, "{next:?} was refused"),
                    Err(e) => panic!("set_health_thresholds: {e}"),
                }
                assert_eq!(store.settings().get().health, t);
            }
            1 => {
                let d = NewDeadLetter::new("a", "k", vec![1]).permanent(true);
                store
                    .dead_letters()
                    .record(d, Durability::Durable)
                    .expect("record");
                dead += 1;
            }
            2 => {
                let (b, ms) = (input.u8(), input.u8());
                let level = LEVELS[usize::from(b % 6)];
                let dur = u64::from(ms) * 1000;
                let rec = LogRecord::new(level, "req").endpoint("/x").duration_us(dur);
                store
                    .logs()
                    .append(rec, Durability::Buffered)
                    .expect("append");
                logs.push((now, level, dur));
            }
            3 => clock.advance(u64::from(input.u8()) * 10_000_000),
            4 => {
                let raise = input.u8() & 1 == 1;
                let r = store
                    .health_with(HealthOptions::new().raise_alerts(raise))
                    .expect("health");
                let get = |name: &str| r.component(name).expect("component").status;
                let want_dead = grade_of(dead, t.dead_letters_degraded, t.dead_letters_critical);
                assert_eq!(get("dead_letters"), want_dead, "{dead} dead, {t:?}");
                assert_eq!(get("requests"), requests_grade(&logs, &t, now), "{t:?}");
                assert_eq!(get("writer"), Grade::Healthy);
                assert_eq!(get("audit"), Grade::Healthy);
                assert_eq!(
                    r.grade,
                    r.components.iter().map(|c| c.status).max().expect("some")
                );
                if raise {
                    let (mut raised, mut resolved) = (0, 0);
                    for c in &r.components {
                        let sev = match c.status {
                            Grade::Healthy => None,
                            Grade::Degraded => Some(Severity::Warning),
                            Grade::Critical => Some(Severity::Critical),
                        };
                        match (sev, open.get(c.name).copied()) {
                            (None, Some(_)) => {
                                open.remove(c.name);
                                resolved += 1;
                            }
                            (Some(s), was) if was != Some(s) => {
                                open.insert(c.name, s);
                                raised += 1;
                            }
                            _ => {}
                        }
                    }
                    assert_eq!((r.alerts_raised, r.alerts_resolved), (raised, resolved));
                }
                for name in ["dead_letters", "requests"] {
                    let a = store
                        .alerts()
                        .open_by_key("hardstore", name)
                        .expect("open_by_key");
                    assert_eq!(a.map(|a| a.severity), open.get(name).copied(), "{name}");
                }
            }
            _ => {
                store.close().expect("close");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopen");
            }
        }
    }
    store.close().expect("close");
}
