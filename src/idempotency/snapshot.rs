//! A read snapshot of the keys table, shared by `begin` calls until the next commit.
//!
//! Why: a replay is a point lookup, and opening a read transaction and its table costs
//! more than the lookup itself. Readers share one opened table until the writer commits.
//!
//! Invariants:
//! - The writer calls [`KeysSnapshot::invalidate`] after every commit (or failed
//!   commit), before any caller of that batch is answered: a `begin` that starts after
//!   a completion was acknowledged never sees a snapshot from before it.
//! - A snapshot is only installed if no commit happened since the generation read before
//!   it was opened, so a slow reader never installs an outdated one.
//! - At most one snapshot is cached, and it is dropped at the next commit: it never pins
//!   old pages for longer than one batch.

use std::sync::Arc;

use parking_lot::Mutex;
use redb::{Database, ReadOnlyTable, ReadableDatabase};

use super::tables::KEYS;
use crate::error::Result;

pub(crate) type KeysTable = ReadOnlyTable<(&'static str, &'static str), &'static [u8]>;

#[derive(Default)]
pub(crate) struct KeysSnapshot {
    /// (commit generation, the table opened in a snapshot taken at that generation).
    cached: Mutex<(u64, Option<Arc<KeysTable>>)>,
}

impl std::fmt::Debug for KeysSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysSnapshot").finish_non_exhaustive()
    }
}

impl KeysSnapshot {
    /// The keys table as of a snapshot no older than the last commit.
    pub(crate) fn get(&self, db: &Database) -> Result<Arc<KeysTable>> {
        let generation = {
            let cached = self.cached.lock();
            if let Some(t) = &cached.1 {
                return Ok(t.clone());
            }
            cached.0
        };
        let table = Arc::new(db.begin_read()?.open_table(KEYS)?);
        let mut cached = self.cached.lock();
        if cached.0 == generation && cached.1.is_none() {
            cached.1 = Some(table.clone());
        }
        Ok(table)
    }

    /// Forgets the cached snapshot: a commit was made (or tried).
    pub(crate) fn invalidate(&self) {
        let old = {
            let mut cached = self.cached.lock();
            cached.0 += 1;
            cached.1.take()
        };
        // Dropped outside the lock: ending a read transaction takes redb's own lock.
        drop(old);
    }
}
