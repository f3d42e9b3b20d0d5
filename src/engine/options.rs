//! Options for opening a [`Store`](crate::Store).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::engine::values::RetryPolicy;
use crate::engine::values::{Retention, Schedule};
use crate::settings::Settings;

/// How long a write waits before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Returns once the write is committed and fsynced: it survives a crash or power loss.
    #[default]
    Durable,
    /// Returns once the write is committed in memory and visible to readers. It reaches
    /// disk within [`Options::flush_interval`], on the next durable write, or on close,
    /// whichever comes first; a crash before then loses it.
    Buffered,
}

/// Settings for [`Store::open`](crate::Store::open), built with chained setters.
///
/// ```
/// use std::time::Duration;
/// let opts = hardstore::Options::new()
///     .flush_interval(Duration::from_millis(50))
///     .audit_key(b"a secret of at least 32 bytes....");
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) flush_interval: Duration,
    pub(crate) max_batch: usize,
    pub(crate) audit_key: Option<Vec<u8>>,
    /// The audit tree's hash for a store this open creates (an existing store keeps its own).
    pub(crate) audit_hash: crate::audit::AuditHash,
    pub(crate) cache_bytes: usize,
    pub(crate) check_integrity: bool,
    pub(crate) redact_logs: bool,
    /// Whether audit appends redact actors and detail values (opt-in).
    pub(crate) redact_audit: bool,
    /// The settings a new store is created with (an existing store keeps its own).
    pub(crate) seed: Settings,
    /// Run maintenance this often on a thread of the store's own (`None`: never).
    pub(crate) janitor: Option<Duration>,
    /// The most metric series the app may register (all families together).
    pub(crate) metrics_max_series: usize,
    /// The most keys one rate limit holds in memory.
    pub(crate) rate_limit_max_keys: usize,
    /// How often rate-limit keys are written to the store.
    pub(crate) rate_limit_flush: Duration,
    /// Where sealed fields' keys come from (never stored).
    pub(crate) sealing: Option<crate::sealing::SourceHandle>,
    /// Where the janitor writes the backups the schedule says are due (`None`: it runs
    /// none).
    pub(crate) janitor_backups: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            flush_interval: Duration::from_millis(100),
            max_batch: 4096,
            audit_key: None,
            audit_hash: crate::audit::AuditHash::Blake3,
            cache_bytes: 1 << 30,
            check_integrity: false,
            redact_logs: true,
            redact_audit: false,
            seed: Settings::default(),
            janitor: None,
            janitor_backups: None,
            metrics_max_series: 10_000,
            rate_limit_max_keys: 1_000_000,
            rate_limit_flush: Duration::from_secs(1),
            sealing: None,
        }
    }
}

impl Options {
    /// Refuses options no store can run with, before any file is touched.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.janitor.is_some_and(|i| i.is_zero()) {
            return Err(crate::Error::InvalidArgument(
                "the janitor's interval must be above zero".into(),
            ));
        }
        if self.rate_limit_flush.is_zero() || self.rate_limit_max_keys == 0 {
            return Err(crate::Error::InvalidArgument(
                "the rate-limit flush interval and key cap must be above zero".into(),
            ));
        }
        self.seed.validate()
    }

    /// The defaults: system clock, 100 ms flush interval, no audit key, a page cache of up
    /// to 1 GiB (redb's default; filled only as pages are read).
    pub fn new() -> Self {
        Self::default()
    }

    /// The clock every timestamp, TTL and retention window reads.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// For a new store: the most restore points that may exist at once (default 32,
    /// 1..=1024). Each keeps the old values of rows changed since it was taken, so the
    /// file grows with the rows changed since the oldest point. Creating one past the cap
    /// fails with [`Error::LimitReached`](crate::Error). An existing store keeps its own
    /// ([`StoreSettings::set_max_restore_points`](crate::StoreSettings)).
    pub fn max_restore_points(mut self, n: usize) -> Self {
        self.seed.max_restore_points = n;
        self
    }

    /// The longest a [`Durability::Buffered`] write stays unsynced. Zero syncs every batch.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// The most writes gathered into one transaction (at least 1; default 4096).
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// For a new store: the audit tree's hash function (default BLAKE3). SHA-256 makes
    /// the tree RFC 6962's, so C2SP checkpoints and proofs verify with existing
    /// transparency-log tooling. An existing store keeps the hash it was created with,
    /// whatever is given here; so does a store restored from a backup.
    pub fn audit_hash(mut self, hash: crate::audit::AuditHash) -> Self {
        self.audit_hash = hash;
        self
    }

    /// A secret from which the checkpoint MAC key is derived (`blake3::derive_key`; the
    /// raw key is never used directly). Without it, checkpoints carry no MAC.
    pub fn audit_key(mut self, key: &[u8]) -> Self {
        self.audit_key = Some(key.to_vec());
        self
    }

    /// For a new store: how many log entries the ring keeps (at least 1; default
    /// 100,000). An existing store keeps its own capacity whatever is given here: change
    /// it with [`StoreSettings::set_log_capacity`](crate::StoreSettings), which asks
    /// before it evicts anything.
    pub fn log_capacity(mut self, n: u64) -> Self {
        self.seed.log_capacity = n;
        self
    }

    /// For a new store: how long an idempotency key lives from its creation (default
    /// 24 h). An existing store keeps its own.
    pub fn idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.seed.idempotency_ttl = ttl;
        self
    }

    /// Whether audit appends have e-mail addresses and phone numbers in the actor and in
    /// detail values replaced before they are hashed and stored (default off: opt in;
    /// the same rules as [`crate::logs::redact`]). The log then never holds them, and its
    /// leaves commit to the redacted text.
    pub fn redact_audit(mut self, on: bool) -> Self {
        self.redact_audit = on;
        self
    }

    /// Whether log messages, error messages and field values have e-mail addresses and
    /// phone numbers replaced before storage (default on; see [`crate::logs::redact`]).
    pub fn redact_logs(mut self, on: bool) -> Self {
        self.redact_logs = on;
        self
    }

    /// The most page cache redb may use, in bytes (default 1 GiB, filled lazily). Verify
    /// and proofs over a large log are served from it.
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Whether an open first checks every page of the file (redb's integrity check:
    /// checksums and the allocator's state), so damage is found as
    /// [`Error::Corrupted`](crate::Error) at open instead of when a damaged page is read
    /// (default off: it reads the whole file).
    pub fn check_integrity(mut self, on: bool) -> Self {
        self.check_integrity = on;
        self
    }

    /// For a new store: how failed dead letters are rescheduled, and their default max
    /// attempts (default: full jitter, base 1 s, cap 1 h, 5 attempts, seeded from the
    /// OS). An existing store keeps its own.
    pub fn dead_letter_policy(mut self, policy: RetryPolicy) -> Self {
        self.seed.dead_letter_policy = policy;
        self
    }

    /// For a new store: how long Done and Dead dead letters are kept before
    /// [`purge`](crate::DeadLetters::purge) deletes them, counted from when they became
    /// Done or Dead (default 7 days; zero purges them at once). An existing store keeps
    /// its own.
    pub fn dead_letter_purge_after(mut self, age: Duration) -> Self {
        self.seed.dead_letter_purge_after = age;
        self
    }

    /// For a new store: where [`Store::health`](crate::Store::health) grades healthy,
    /// degraded and critical (default: [`HealthThresholds::default`]). An existing
    /// store keeps its own.
    pub fn health_thresholds(mut self, t: crate::engine::values::HealthThresholds) -> Self {
        self.seed.health = t;
        self
    }

    /// For a new store: how long resolved alerts are kept before maintenance deletes them
    /// (default 30 days). An existing store keeps its own.
    pub fn alert_retention(mut self, age: Duration) -> Self {
        self.seed.alert_retention = age;
        self
    }

    /// For a new store: how long audit entries keep their payloads before maintenance
    /// prunes them, keeping their leaf hashes (default: for ever). An existing store
    /// keeps its own.
    pub fn audit_retention(mut self, age: Duration) -> Self {
        self.seed.audit_retention = Some(age);
        self
    }

    /// The most metric series the app may register, all families together (default
    /// 10,000): a new series past it is refused with `Error::LimitReached` and counted.
    pub fn metrics_max_series(mut self, n: usize) -> Self {
        self.metrics_max_series = n;
        self
    }

    /// The most keys one rate limit holds in memory (default 1,000,000); see
    /// [`rate_limits`](crate::rate_limits) for what happens past it.
    pub fn rate_limit_max_keys(mut self, n: usize) -> Self {
        self.rate_limit_max_keys = n;
        self
    }

    /// How often the keys rate-limit checks changed are written to the store, durably
    /// (default 1 s): a crash forgets at most this much consumption.
    pub fn rate_limit_flush(mut self, every: Duration) -> Self {
        self.rate_limit_flush = every;
        self
    }

    /// The keys sealed fields are encrypted with: a [`Keyset`](crate::sealing::Keyset) of
    /// bytes or a [`KeyFn`](crate::sealing::KeyFn) callback. The store asks for a key
    /// by id when it needs it and never writes one to its file.
    pub fn sealing_keys(mut self, source: impl crate::sealing::KeySource + 'static) -> Self {
        self.sealing = Some(crate::sealing::SourceHandle(Arc::new(source)));
        self
    }

    /// Runs [`Store::maintenance`](crate::Store::maintenance) every `interval` on a
    /// thread of the store's own, the janitor, from the open until the store is closed
    /// (or its last clone dropped); `Store::janitor_status` says what it did.
    pub fn janitor(mut self, interval: Duration) -> Self {
        self.janitor = Some(interval);
        self
    }

    /// Lets the janitor run the backups the store's schedule says are due, into
    /// `folder` (without it, the janitor runs none).
    pub fn janitor_backups(mut self, folder: impl Into<std::path::PathBuf>) -> Self {
        self.janitor_backups = Some(folder.into());
        self
    }

    /// For a new store: what a backup prune by the store's settings keeps (default: full
    /// backups of the last 30 days). An existing store keeps its own.
    pub fn backup_retention(mut self, retention: Retention) -> Self {
        self.seed.backup_retention = retention;
        self
    }

    /// For a new store: when backups are due (default: [`Schedule::default`]). An
    /// existing store keeps its own.
    pub fn backup_schedule(mut self, schedule: Schedule) -> Self {
        self.seed.backup_schedule = schedule;
        self
    }
}
