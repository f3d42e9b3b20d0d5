//! The registry: the areas, their tables and the commit observers, handed to the core
//! by `crate::areas` (outside it) before a store opens, so the core never names an area.
//!
//! Invariants:
//! - It is installed once per process, by every way in (`Store::open` and the backup
//!   functions that read files without a store), before anything reads it; installing
//!   again changes nothing (there is one list of areas per build).
//! - Until it is installed the registry is empty: no table is cataloged, so a lookup is
//!   an error, never a guess.

use std::sync::OnceLock;

use crate::engine::area::Area;
use crate::engine::catalog::CatalogTable;
use crate::error::Result;

/// A commit observer: gets the batch's transaction before it commits.
pub(crate) type Observer = fn(&mut crate::WriteTx<'_>) -> Result<()>;

/// What the areas give the core.
pub(crate) struct Registry {
    /// Every area's hooks, in the order the core calls them.
    pub(crate) areas: &'static [&'static dyn Area],
    /// Every area's cataloged tables.
    pub(crate) tables: &'static [&'static [&'static dyn CatalogTable]],
    /// What runs before every batch commits, in this order.
    pub(crate) observers: &'static [Observer],
}

static INSTALLED: OnceLock<&'static Registry> = OnceLock::new();

static EMPTY: Registry = Registry {
    areas: &[],
    tables: &[],
    observers: &[],
};

/// Installs the registry (the first call wins; there is one per build).
pub(crate) fn install(registry: &'static Registry) {
    let _ = INSTALLED.set(registry);
}

/// The installed registry, or an empty one.
pub(crate) fn get() -> &'static Registry {
    INSTALLED.get().copied().unwrap_or(&EMPTY)
}
