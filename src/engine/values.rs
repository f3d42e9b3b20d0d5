//! The value types of settings that areas define the meaning of (the dead letters' retry
//! policy, the backups' retention and schedule): plain data here, in the core, so that
//! settings and options can hold them; their behaviour is implemented in their areas
//! (`dead_letters::policy`, `backup::retention`, `backup::schedule`), which re-export
//! them under their public paths.

use std::time::Duration;

/// How a delay is drawn from the backoff ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// "Full jitter": uniform in `[0, min(cap, base * 2^attempt)]` (the default).
    #[default]
    Full,
    /// "Decorrelated jitter": uniform in `[base, max(base, 3 * previous)]`, capped at
    /// `cap`; the first delay (no previous) is drawn as if the previous were `base`.
    Decorrelated,
}

/// When to retry and when to give up.
///
/// ```
/// use std::time::Duration;
/// use hardstore::dead_letters::{Jitter, RetryPolicy, SplitMix64};
/// let p = RetryPolicy::new(Duration::from_millis(100), Duration::from_secs(60))
///     .max_attempts(8)
///     .jitter(Jitter::Decorrelated)
///     .seed(7);
/// let mut rng = SplitMix64::new(7);
/// let d = p.delay(0, Duration::ZERO, &mut rng);
/// assert!(d >= Duration::from_millis(100) && d <= Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first delay's ceiling (full jitter) or floor (decorrelated). At least 1 µs.
    pub base: Duration,
    /// No delay is longer. At least `base`.
    pub cap: Duration,
    /// Attempts before an item is declared dead, 1..=
    /// [`MAX_ATTEMPTS_LIMIT`](crate::dead_letters::MAX_ATTEMPTS_LIMIT) (default 5).
    pub max_attempts: u32,
    /// How delays are drawn.
    pub jitter: Jitter,
    /// A fixed seed for the random source (tests); `None` draws one from the OS.
    pub seed: Option<u64>,
}

impl Default for RetryPolicy {
    /// Base 1 s, cap 1 h, 5 attempts, full jitter, unseeded.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(3600),
            max_attempts: 5,
            jitter: Jitter::Full,
            seed: None,
        }
    }
}

/// What [`Backups::prune`](crate::backup::Backups::prune) keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Full backups older than this go (default 30 days; `None`: no age limit).
    pub max_age: Option<Duration>,
    /// At most this many full backups are kept, the newest (default `None`: no limit).
    pub keep_fulls: Option<usize>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
            keep_fulls: None,
        }
    }
}

/// When backups are due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// A full backup when the last successful one started this long ago (default 24 h).
    pub full_every: Duration,
    /// An incremental when the last successful full or incremental started this long
    /// ago (default 6 h).
    pub incremental_every: Duration,
    /// A differential when the last successful backup of any kind started this long ago
    /// (default 1 h).
    pub differential_every: Duration,
    /// Applied after each scheduled run (default: [`Retention::default`]).
    pub retention: Option<Retention>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            full_every: Duration::from_secs(24 * 3600),
            incremental_every: Duration::from_secs(6 * 3600),
            differential_every: Duration::from_secs(3600),
            retention: Some(Retention::default()),
        }
    }
}
