//! The areas' registry: the one list a new area adds itself to. The engine core
//! (`engine/`) never names an area; it reaches their tables through this list.

use std::path::Path;

use crate::engine::area::Area;
use crate::engine::catalog::CatalogTable;
use crate::engine::registry::{Observer, Registry};
use crate::{Options, Result, Store};

/// What the core gets: the lists below.
static REGISTRY: Registry = Registry {
    areas: &AREAS,
    tables: &TABLES,
    observers: &OBSERVERS,
};

/// Hands the registry to the core; every way in calls it first (it is cheap after the
/// first time).
pub(crate) fn install() {
    crate::engine::registry::install(&REGISTRY);
}

impl Store {
    /// Opens the store at `path`, creating it if the file is absent or empty.
    ///
    /// A file that is not a hardstore store ([`Error::NotAStore`](crate::Error)) or was
    /// written by a newer format ([`Error::FormatTooNew`](crate::Error)) is refused and
    /// left untouched. A file another process has open gives
    /// [`Error::AlreadyOpen`](crate::Error).
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Store> {
        install();
        Store::open_file(path, opts)
    }

    /// Opens a store over a caller-supplied redb storage backend (an in-memory one, or
    /// one that injects faults in tests). An empty backend gets a new store.
    pub fn open_with_backend(backend: impl redb::StorageBackend, opts: Options) -> Result<Store> {
        install();
        Store::open_backend(backend, opts, false)
    }

    /// A store that lives in memory only, for tests and fuzzing. Its durable writes
    /// cost what they cost in a file, less the sync: there is nothing to sync to.
    pub fn in_memory(opts: Options) -> Result<Store> {
        install();
        Store::open_backend(redb::backends::InMemoryBackend::new(), opts, true)
    }
}

/// Every area's hooks, in the order the core calls them (`engine::area`). Restore points
/// open first: a store of format 2 has its savepoints converted before anything reads.
pub(crate) static AREAS: [&dyn Area; 13] = [
    &crate::restore_points::RestorePointsArea,
    &crate::audit::AuditArea,
    &crate::logs::LogsArea,
    &crate::idempotency::IdempotencyArea,
    &crate::dead_letters::DeadLettersArea,
    &crate::backup::BackupArea,
    &crate::health::HealthArea,
    &crate::maintenance::MaintenanceArea,
    &crate::metrics::MetricsArea,
    &crate::rate_limits::RateLimitsArea,
    &crate::ip_rules::IpRulesArea,
    &crate::sealing::SealingArea,
    &crate::webhooks::WebhooksArea,
];

/// What runs before every batch commits, in this order (`WriteTx::finish`): counters an
/// area gathers over the batch first, then what observes changes (restore-point old
/// values, the state digest), and last the backup change journal, which lists every
/// change above.
pub(crate) static OBSERVERS: [Observer; 6] = [
    crate::dead_letters::tables::flush_counts_observer,
    crate::metrics::checkpoint_observer,
    crate::rate_limits::close_observer,
    crate::restore_points::before::record_observer,
    crate::restore_points::digest::store_observer,
    crate::backup::journal::record_observer,
];

/// Every area's cataloged tables (see `engine::catalog`).
pub(crate) static TABLES: [&[&dyn CatalogTable]; 13] = [
    &crate::audit::tables::TABLES,
    &crate::logs::ring::TABLES,
    &crate::idempotency::tables::TABLES,
    &crate::kv::TABLES,
    &crate::dead_letters::tables::TABLES,
    &crate::backup::TABLES,
    &crate::restore_points::TABLES,
    &crate::alerts::tables::TABLES,
    &[&crate::metrics::TABLE],
    &crate::rate_limits::tables::TABLES,
    &crate::ip_rules::tables::TABLES,
    &crate::sealing::tables::TABLES,
    &crate::webhooks::tables::TABLES,
];
