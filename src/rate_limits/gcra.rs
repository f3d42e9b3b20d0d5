//! The generic cell rate algorithm (GCRA), as `governor` and redis-cell run it: one
//! timestamp per key, the theoretical arrival time (TAT) of the next request that would
//! conform.
//!
//! With an emission interval `T = period / count` and a tolerance `tau = T * burst`, a
//! request of cost `n` at `now` conforms when `max(tat, now) + n*T - tau <= now`; if it
//! does, the TAT moves to `max(tat, now) + n*T`. A key whose TAT is at or before `now` is
//! in the same state as a key never seen: that is why idle keys can be evicted exactly.
//!
//! All times are nanoseconds since the Unix epoch; arithmetic saturates, never wraps.

/// A limit's parameters, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// Emission interval: the time one unit of cost takes to refill (>= 1 ns).
    pub(crate) interval: u64,
    /// The burst: the most cost allowed at once (>= 1).
    pub(crate) burst: u64,
}

/// What one check answers (times in nanoseconds from `now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) allowed: bool,
    pub(crate) remaining: u64,
    /// Denied: when the same cost would conform (`None`: never, it exceeds the burst).
    pub(crate) retry_after: Option<u64>,
    /// When the key is back to a full burst.
    pub(crate) reset_after: u64,
    /// The key's TAT after the check (unchanged when denied).
    pub(crate) tat: u64,
}

impl Gcra {
    fn tolerance(&self) -> u64 {
        self.interval.saturating_mul(self.burst)
    }

    /// Checks a request of `cost` at `now` against a key whose TAT is `tat` (0 for a key
    /// never seen). Cost 0 only reads.
    pub(crate) fn check(&self, tat: u64, now: u64, cost: u64) -> Verdict {
        let tau = self.tolerance();
        let base = tat.max(now);
        let remaining_at = |t: u64| tau.saturating_sub(t.saturating_sub(now)) / self.interval;
        let new_tat = base.saturating_add(self.interval.saturating_mul(cost));
        let allow_at = new_tat.saturating_sub(tau);
        if cost > self.burst || allow_at > now {
            return Verdict {
                allowed: false,
                remaining: remaining_at(base),
                retry_after: (cost <= self.burst).then(|| allow_at - now),
                reset_after: base - now,
                tat,
            };
        }
        Verdict {
            allowed: true,
            remaining: remaining_at(new_tat),
            retry_after: None,
            reset_after: new_tat - now,
            tat: new_tat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn sixty_a_minute_allows_the_burst_then_one_a_second() {
        let g = Gcra {
            interval: S,
            burst: 60,
        };
        let now = 1_000 * S;
        let mut tat = 0;
        for i in 0..60 {
            let v = g.check(tat, now, 1);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 59 - i);
            tat = v.tat;
        }
        let v = g.check(tat, now, 1);
        assert!(!v.allowed);
        assert_eq!(v.retry_after, Some(S));
        assert_eq!(v.reset_after, 60 * S);
        assert_eq!(v.tat, tat, "a denial consumes nothing");
        let v = g.check(tat, now + S, 1);
        assert!(v.allowed, "one second refills one");
        assert_eq!(v.remaining, 0);
    }

    #[test]
    fn cost_above_the_burst_never_conforms_and_zero_only_reads() {
        let g = Gcra {
            interval: S,
            burst: 5,
        };
        let v = g.check(0, 10 * S, 6);
        assert!(!v.allowed);
        assert_eq!(v.retry_after, None);
        let v = g.check(0, 10 * S, 0);
        assert!(v.allowed);
        assert_eq!((v.remaining, v.tat), (5, 10 * S));
    }

    #[test]
    fn an_idle_key_equals_a_new_one() {
        let g = Gcra {
            interval: 3,
            burst: 7,
        };
        for now in [10u64, 1000, u64::MAX / 2] {
            for tat in [0, now / 2, now] {
                assert_eq!(g.check(tat, now, 2).remaining, g.check(0, now, 2).remaining);
            }
        }
    }

    #[test]
    fn saturates_instead_of_wrapping() {
        let g = Gcra {
            interval: u64::MAX,
            burst: 2,
        };
        let v = g.check(u64::MAX, u64::MAX, u64::MAX);
        assert!(!v.allowed && v.retry_after.is_none(), "above the burst");
        // At the end of time every sum saturates: conforming, nothing left to reset.
        let v = g.check(u64::MAX, u64::MAX, 1);
        assert!(v.allowed);
        assert_eq!((v.tat, v.reset_after), (u64::MAX, 0));
    }
}
