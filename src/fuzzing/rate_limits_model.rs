//! The rate-limits fuzz target's body: checks, clock moves, redefinitions, flushes and
//! reopens against a model GCRA per key.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Bytes, SharedMemoryBackend};
use crate::rate_limits::Limit;
use crate::{ManualClock, Options, Store};

/// The model: the key's TAT (ns), and the limit as (interval ns, burst).
struct M {
    interval: u64,
    burst: u64,
    tats: BTreeMap<u8, u64>,
}

impl M {
    /// (allowed, remaining) of a check, applying it.
    fn check(&mut self, key: u8, now: u64, cost: u64) -> (bool, u64) {
        let tau = self.interval * self.burst;
        let tat = self.tats.get(&key).copied().unwrap_or(0).max(now);
        let new_tat = tat + self.interval * cost;
        // A smaller burst after a redefinition can leave a TAT further out than tau.
        if cost > self.burst || new_tat.saturating_sub(tau) > now {
            return (false, tau.saturating_sub(tat - now) / self.interval);
        }
        self.tats.insert(key, new_tat);
        (true, tau.saturating_sub(new_tat - now) / self.interval)
    }
}

/// Every check answers as the model does; keys are kept across clean closes (a close
/// writes them) and redefinitions; a cost above the burst is denied without a retry
/// time; memory never holds more keys than are in use.
pub fn rate_limits_model(data: &[u8]) {
    let mut input = Bytes(data);
    let clock = ManualClock::new(1_000_000_000);
    let opts = || {
        Options::new()
            .clock(clock.clone())
            .rate_limit_flush(Duration::from_secs(3600))
    };
    let backend = SharedMemoryBackend::default();
    let mut store = Store::open_with_backend(backend.clone(), opts()).expect("opens");
    let count = 1 + u64::from(input.u8() % 20);
    let period_ms = 1 + u64::from(input.u16() % 5000);
    let limit = Limit::new(count, Duration::from_millis(period_ms));
    store
        .rate_limits()
        .define("t", "l", limit)
        .expect("defines");
    let mut m = M {
        interval: period_ms * 1_000_000 / count,
        burst: count,
        tats: BTreeMap::new(),
    };
    let mut steps = 0;
    while !input.done() && steps < 500 {
        steps += 1;
        match input.u8() % 10 {
            0..=5 => {
                let key = input.u8() % 16;
                let cost = u64::from(input.u8() % 8);
                let now = crate::Clock::now(&clock) * 1000;
                let d = store
                    .rate_limits()
                    .check("t", "l", &[key], cost)
                    .expect("checks");
                let (allowed, remaining) = m.check(key, now, cost);
                assert_eq!(
                    (d.allowed, d.remaining),
                    (allowed, remaining),
                    "key {key} cost {cost}"
                );
                assert_eq!(d.limit, m.burst);
                if !d.allowed {
                    assert_eq!(d.retry_after.is_none(), cost > m.burst);
                }
            }
            6 => clock.advance(u64::from(input.u16()) * 100),
            7 => {
                let burst = 1 + u64::from(input.u8() % 40);
                store
                    .rate_limits()
                    .define("t", "l", limit.burst(burst))
                    .expect("redefines");
                m.burst = burst;
            }
            8 => {
                store.rate_limits().flush().expect("flushes");
            }
            _ => {
                store.close().expect("closes");
                store = Store::open_with_backend(backend.clone(), opts()).expect("reopens");
            }
        }
        let now = crate::Clock::now(&clock) * 1000;
        let in_use = m.tats.values().filter(|t| **t > now).count() as u64;
        assert!(
            store.rate_limits().stats("t", "l").expect("stats").keys
                <= in_use.max(m.tats.len() as u64)
        );
    }
    store.close().expect("closes");
}
