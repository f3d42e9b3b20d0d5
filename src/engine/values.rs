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

/// Where the health checks draw the line between healthy, degraded and critical
/// (`health` grades the store against them). A setting: kept in the store, changed by
/// [`StoreSettings::set_health_thresholds`](crate::StoreSettings::set_health_thresholds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthThresholds {
    /// The window the request figures (error rate, p95 latency) are taken over,
    /// counted back from now over the log ring (default 5 min).
    pub window: Duration,
    /// Errors per thousand requests in the window that degrade (default 50: 5%) ...
    pub error_permille_degraded: u32,
    /// ... and that make it critical (default 250: 25%).
    pub error_permille_critical: u32,
    /// A p95 request duration in the window that degrades (default 500 ms) ...
    pub p95_degraded: Duration,
    /// ... and that makes it critical (default 2 s).
    pub p95_critical: Duration,
    /// Dead letters dead and not yet purged that degrade (default 1) ...
    pub dead_letters_degraded: u64,
    /// ... and that make it critical (default 1000).
    pub dead_letters_critical: u64,
    /// The store file's size (with its redo log) that is critical; 90% of it degrades
    /// (default: no limit).
    pub file_size_limit: Option<u64>,
    /// Free bytes on the store's file system below which it is degraded (default 1 GiB)
    /// ...
    pub disk_free_degraded: u64,
    /// ... and critical (default 256 MiB).
    pub disk_free_critical: u64,
    /// Whether backups are expected: when true, a store with no successful backup is
    /// degraded; when false, backups are graded only once one was cataloged (default
    /// false).
    pub backups_expected: bool,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(300),
            error_permille_degraded: 50,
            error_permille_critical: 250,
            p95_degraded: Duration::from_millis(500),
            p95_critical: Duration::from_secs(2),
            dead_letters_degraded: 1,
            dead_letters_critical: 1000,
            file_size_limit: None,
            disk_free_degraded: 1 << 30,
            disk_free_critical: 256 << 20,
            backups_expected: false,
        }
    }
}

impl HealthThresholds {
    /// Refuses thresholds that grade nothing sensibly (a critical line below the
    /// degraded one, an empty window).
    pub(crate) fn validate(&self) -> crate::error::Result<()> {
        let bad = |why: &str| {
            Err(crate::error::Error::InvalidArgument(format!(
                "health thresholds: {why}"
            )))
        };
        if self.window.is_zero() {
            return bad("the window must be longer than zero");
        }
        if self.error_permille_degraded > self.error_permille_critical
            || self.error_permille_critical > 1000
        {
            return bad("error rates must be degraded <= critical <= 1000 per mille");
        }
        if self.p95_degraded > self.p95_critical {
            return bad("p95 degraded must not exceed p95 critical");
        }
        if self.dead_letters_degraded > self.dead_letters_critical {
            return bad("dead letters degraded must not exceed critical");
        }
        if self.disk_free_critical > self.disk_free_degraded {
            return bad("disk free critical must not exceed degraded");
        }
        if self.file_size_limit == Some(0) {
            return bad("a file size limit must be above zero");
        }
        Ok(())
    }
}
