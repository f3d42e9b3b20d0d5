//! The areas' registry: the one list a new area adds itself to. The engine core
//! (`engine/`) never names an area; it reaches their tables through this list.

use crate::engine::catalog::CatalogTable;

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
