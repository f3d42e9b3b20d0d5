//! The areas' registry: the one list a new area adds itself to. The engine core
//! (`engine/`) never names an area; it reaches their tables through this list.

use crate::engine::area::Area;
use crate::engine::catalog::CatalogTable;

/// Every area's hooks, in the order the core calls them (`engine::area`). Restore points
/// open first: a store of format 2 has its savepoints converted before anything reads.
pub(crate) static AREAS: [&dyn Area; 6] = [
    &crate::restore_points::RestorePointsArea,
    &crate::audit::AuditArea,
    &crate::logs::LogsArea,
    &crate::idempotency::IdempotencyArea,
    &crate::dead_letters::DeadLettersArea,
    &crate::backup::BackupArea,
];

/// What runs before every batch commits, in this order (`WriteTx::finish`): counters an
/// area gathers over the batch first, then what observes changes (restore-point old
/// values, the state digest), and last the backup change journal, which lists every
/// change above.
pub(crate) static OBSERVERS: [Observer; 4] = [
    crate::dead_letters::tables::flush_counts_observer,
    crate::restore_points::before::record_observer,
    crate::restore_points::digest::store_observer,
    crate::backup::journal::record_observer,
];

/// A commit observer: gets the batch's transaction before it commits.
pub(crate) type Observer = fn(&mut crate::WriteTx<'_>) -> crate::Result<()>;

/// Every area's cataloged tables (see `engine::catalog`).
pub(crate) static TABLES: [&[&dyn CatalogTable]; 7] = [
    &crate::audit::tables::TABLES,
    &crate::logs::ring::TABLES,
    &crate::idempotency::tables::TABLES,
    &crate::kv::TABLES,
    &crate::dead_letters::tables::TABLES,
    &crate::backup::TABLES,
    &crate::restore_points::TABLES,
];
