//! The engine core: the store, the group-commit writer, the redo log, transactions,
//! record encoding, options, settings, the clock and the error type.
//!
//! ```text
//!            Store::open / write / close          areas (audit, logs, idempotency, kv,
//!                      |                           dead letters, restore points, backups)
//!   +------------------v-------------------+         |  own their tables, register them
//!   | engine                               | <-------+  in the catalog, write through
//!   |  store   open, metadata, format      |            WriteTx and Tracked tables,
//!   |  writer  group commit, checkpoints   |            observe commits
//!   |  tx      WriteTx: one batch's view   |
//!   |  redo    redo log, Tracked tables    |
//!   |  catalog every table, by id + flags  |
//!   |  settings / options / codec / clock  |
//!   +--------------------------------------+
//!                      |
//!                    redb (one file) + <file>.redo
//! ```
//!
//! An area plugs in through `area.rs`: the [`area::Area`] hooks (open, after open, each
//! batch's start and end, a settings change), its state in the writer's typed map (cloned
//! per batch, published on commit), its shared objects, its open tables in the
//! transaction's slots, and its `WriteTx` methods defined in its own module. The lists
//! of areas, tables and commit observers are in `crate::areas`, outside the core, which
//! hands them to the core as a [`registry::Registry`]: adding an area adds a line there
//! and touches no file here.
//!
//! Invariants the core keeps for every area:
//! - Every table a batch writes is in the catalog (`catalog.rs`) under an id that is
//!   never reused; its flags say whether it is backed up, digested (the mutable state a
//!   restore point rolls back) and exported with a restore point. Redo records, backup
//!   frames and restore-point images carry the id.
//! - A write goes through `WriteTx`; a change to a cataloged table goes through
//!   `redo::Tracked`, which records it for the redo log, for the state digest and, while
//!   a restore point lives, its old value. Nothing else changes a cataloged table outside
//!   an exclusive job (which commits as a checkpoint).
//! - Before a batch commits, the commit observers run in a fixed order
//!   (`WriteTx::finish`): area counters gathered over the batch, restore-point images,
//!   the state digest, then the backup change journal, which lists every change above.
//! - In-memory state derived from the tables is cloned per batch and published only
//!   after the commit (`writer.rs`).

pub(crate) mod area;
pub(crate) mod catalog;
pub mod clock;
pub(crate) mod codec;
pub(crate) mod digest;
pub(crate) mod error;
pub(crate) mod fnv;
pub(crate) mod histogram;
pub(crate) mod options;
pub(crate) mod redo;
pub(crate) mod registry;
pub(crate) mod settings;
pub(crate) mod store;
pub(crate) mod tx;
pub(crate) mod values;
pub(crate) mod writer;
