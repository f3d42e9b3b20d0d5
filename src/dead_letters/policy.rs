//! Retry policy: exponential backoff with full jitter (default) or decorrelated jitter,
//! and the small seedable random source the jitter draws from.

use std::time::Duration;

pub use crate::engine::values::{Jitter, RetryPolicy};
use crate::error::{Error, Result};

/// The most attempts a policy or a dead letter may allow.
pub const MAX_ATTEMPTS_LIMIT: u32 = 1000;

impl RetryPolicy {
    /// A policy with this base and cap, and the other defaults.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            ..Self::default()
        }
    }

    /// Sets the attempts before an item is declared dead.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets how delays are drawn.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Fixes the random source's seed, so delays repeat from run to run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Refuses a policy no delay can be drawn from.
    pub fn validate(&self) -> Result<()> {
        if self.base < Duration::from_micros(1) {
            return Err(Error::InvalidArgument(
                "retry base must be at least 1 µs".into(),
            ));
        }
        if self.cap < self.base {
            return Err(Error::InvalidArgument(format!(
                "retry cap {:?} is below the base {:?}",
                self.cap, self.base
            )));
        }
        check_max_attempts(self.max_attempts)
    }

    /// The largest delay [`RetryPolicy::delay`] can return for `attempt` (full jitter:
    /// `min(cap, base * 2^attempt)`; decorrelated: `cap`).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        match self.jitter {
            Jitter::Full => {
                let base = micros(self.base);
                let grown = if attempt >= 64 {
                    u64::MAX
                } else {
                    base.saturating_mul(1u64 << attempt)
                };
                Duration::from_micros(grown.min(micros(self.cap)))
            }
            Jitter::Decorrelated => self.cap,
        }
    }

    /// The delay before the next try, after `attempt + 1` tries failed (so `attempt`
    /// counts from 0). `previous` is the delay drawn last time (`Duration::ZERO` for
    /// none); only decorrelated jitter reads it. Microsecond resolution, bounds
    /// inclusive:
    /// - full jitter: uniform in `[0, min(cap, base * 2^attempt)]`;
    /// - decorrelated: uniform in `[base, min(cap, max(base, 3 * previous))]`.
    pub fn delay(&self, attempt: u32, previous: Duration, rng: &mut SplitMix64) -> Duration {
        let us = match self.jitter {
            Jitter::Full => rng.up_to(micros(self.ceiling(attempt))),
            Jitter::Decorrelated => {
                let base = micros(self.base);
                let prev = if previous.is_zero() {
                    base
                } else {
                    micros(previous)
                };
                let hi = prev.saturating_mul(3).max(base).min(micros(self.cap));
                base.min(hi) + rng.up_to(hi - base.min(hi))
            }
        };
        Duration::from_micros(us)
    }
}

pub(crate) fn check_max_attempts(n: u32) -> Result<()> {
    if n == 0 || n > MAX_ATTEMPTS_LIMIT {
        return Err(Error::InvalidArgument(format!(
            "max attempts {n} is outside 1..={MAX_ATTEMPTS_LIMIT}"
        )));
    }
    Ok(())
}

/// A duration in whole microseconds, saturating.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable generator, plenty for
/// jitter (not for secrets).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the OS's random source.
    pub fn from_entropy() -> Result<Self> {
        Ok(Self::new(entropy_seed()?))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `0..=max` (rejection sampling: no modulo bias).
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        let n = max + 1;
        // The largest multiple of n that fits; draws at or above it are redrawn.
        let zone = u64::MAX - (u64::MAX % n + 1) % n;
        loop {
            let x = self.next_u64();
            if x <= zone {
                return x % n;
            }
        }
    }
}

/// SplitMix64's output function, also used to derive per-item seeds.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64 random bits from the OS.
pub(crate) fn entropy_seed() -> Result<u64> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Storage(format!("no OS randomness for a retry seed: {e}")))?;
    Ok(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_stays_in_bounds_and_reaches_both_ends() {
        let mut r = SplitMix64::new(1);
        let (mut lo, mut hi) = (false, false);
        for _ in 0..10_000 {
            let x = r.up_to(3);
            assert!(x <= 3);
            lo |= x == 0;
            hi |= x == 3;
        }
        assert!(lo && hi);
        assert_eq!(r.up_to(0), 0);
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (SplitMix64::new(9), SplitMix64::new(9));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }

    #[test]
    fn ceiling_grows_then_caps_without_overflow() {
        let p = RetryPolicy::new(Duration::from_millis(10), Duration::from_secs(1));
        assert_eq!(p.ceiling(0), Duration::from_millis(10));
        assert_eq!(p.ceiling(3), Duration::from_millis(80));
        assert_eq!(p.ceiling(7), Duration::from_secs(1));
        assert_eq!(p.ceiling(500), Duration::from_secs(1));
    }
}
