//! [`WriteTx`]: the handle a write closure gets inside a group-committed transaction.
//!
//! The core's part of it knows no area: areas add their methods (`tx.kv_put`,
//! `tx.audit_append`, ...) in their own modules, keep their open tables in the
//! transaction's slots (`part`) and their in-memory state in the writer's (`state_mut`).

use redb::WriteTransaction;

use crate::clock::{Clock, Timestamp};
use crate::engine::area::{Family, Shared, Slots};
use crate::error::Result;
use crate::redo::RedoBuf;
use crate::writer::WriterState;

/// Code to run when a transaction is over; the flag says whether it committed.
pub(crate) type Hook = Box<dyn FnOnce(bool)>;

/// One caller's view of the shared write transaction.
///
/// Everything done through it commits together with the rest of the closure, or not
/// at all. A closure may be run more than once (when another write in the same batch
/// fails, the batch is retried without it), so it must not have side effects outside
/// the `WriteTx`.
pub struct WriteTx<'a> {
    txn: &'a WriteTransaction,
    /// Every table change, for the redo log.
    redo: &'a RedoBuf,
    state: &'a mut WriterState,
    clock: &'a dyn Clock,
    shared: &'a Shared,
    /// The areas' open tables, one value per family; dropped with the transaction.
    slots: Slots<'a>,
    /// Run once the transaction committed (`true`) or was abandoned (`false`): they keep
    /// in-memory state (keys in flight) in step with what committed.
    hooks: Vec<Hook>,
    /// The batch's sequence number (see `redo`).
    seq: u64,
    /// Whether the batch commits synced (a checkpoint): what survives a crash.
    synced: bool,
}

impl<'a> WriteTx<'a> {
    pub(crate) fn new(
        txn: &'a WriteTransaction,
        redo: &'a RedoBuf,
        state: &'a mut WriterState,
        clock: &'a dyn Clock,
        shared: &'a Shared,
        (seq, synced): (u64, bool),
    ) -> Self {
        Self {
            txn,
            redo,
            state,
            clock,
            shared,
            slots: Slots::default(),
            hooks: Vec::new(),
            seq,
            synced,
        }
    }

    /// The batch's sequence number, and whether it commits synced (a checkpoint: what
    /// survives a crash, and what may carry state kept only at checkpoints).
    pub(crate) fn commit_kind(&self) -> (u64, bool) {
        (self.seq, self.synced)
    }

    /// The bare transaction, for a module's own tables written outside the redo log (only
    /// in `Writer::exclusive` jobs, which commit as checkpoints).
    pub(crate) fn raw_txn(&self) -> &'a WriteTransaction {
        self.txn
    }

    /// Opens a table whose changes go to the redo log (a module's own tables).
    pub(crate) fn tracked<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: redb::TableDefinition<K, V>,
    ) -> Result<crate::redo::Tracked<'a, K, V>> {
        crate::redo::Tracked::open(self.txn, def, self.redo)
    }

    /// Runs `f` with the transaction and its redo buffer.
    pub(crate) fn with_txn<R>(&self, f: impl FnOnce(&'a WriteTransaction, &'a RedoBuf) -> R) -> R {
        f(self.txn, self.redo)
    }

    /// The batch's redo buffer (its changes so far).
    pub(crate) fn redo(&self) -> &'a RedoBuf {
        self.redo
    }

    /// An area's open tables of family `F`, opened by `open` on first use in this
    /// transaction.
    pub(crate) fn part<F: Family>(
        &mut self,
        open: impl FnOnce(&'a WriteTransaction, &'a RedoBuf) -> Result<F::Of<'a>>,
    ) -> Result<&mut F::Of<'a>> {
        let (txn, redo) = (self.txn, self.redo);
        self.slots.get_or_insert::<F>(|| open(txn, redo))
    }

    /// An area's open tables of family `F`, if this transaction opened them.
    pub(crate) fn part_if_open<F: Family>(&mut self) -> Option<&mut F::Of<'a>> {
        self.slots.get_mut::<F>()
    }

    /// An area's open tables (as [`Self::part`]) together with its state `S`.
    pub(crate) fn part_and_state<F: Family, S: 'static>(
        &mut self,
        open: impl FnOnce(&'a WriteTransaction, &'a RedoBuf) -> Result<F::Of<'a>>,
    ) -> Result<(&mut F::Of<'a>, &mut S)> {
        let (txn, redo) = (self.txn, self.redo);
        let part = self.slots.get_or_insert::<F>(|| open(txn, redo))?;
        let state = self.state.areas.get_mut::<S>()?;
        Ok((part, state))
    }

    /// The area state `S` as this batch sees it.
    pub(crate) fn state<S: 'static>(&self) -> Result<&S> {
        self.state.areas.get::<S>()
    }

    /// The area state `S`, to change it (published only if the batch commits).
    pub(crate) fn state_mut<S: 'static>(&mut self) -> Result<&mut S> {
        self.state.areas.get_mut::<S>()
    }

    /// An area's shared object `T` (see `engine::area`).
    pub(crate) fn shared<T: std::any::Any + Send + Sync>(&self) -> Result<&'a T> {
        self.shared.get::<T>()
    }

    /// The store's settings as this batch sees them.
    pub(crate) fn settings(&self) -> &crate::settings::Settings {
        &self.state.settings
    }

    /// Makes `s` the settings of this batch and of the writer's state, and lets every
    /// area apply them (a smaller ring is cut here); returns the entries that deleted.
    pub(crate) fn apply_settings(&mut self, s: &crate::settings::Settings) -> Result<u64> {
        self.state.settings = s.clone();
        let mut deleted = 0;
        for area in crate::engine::registry::get().areas {
            deleted += area.apply_settings(self, s)?;
        }
        Ok(deleted)
    }

    /// Runs `hook` when the transaction is over: with `true` once it committed, with
    /// `false` if it was abandoned (a failed write, or a batch re-run without another job).
    pub(crate) fn after(&mut self, hook: Hook) {
        self.hooks.push(hook);
    }

    /// Runs the commit observers (the registry's, in their order) once the
    /// last job ran, before the writer commits: each may write what it gathered over the
    /// batch, and each sees the changes of those before it.
    pub(crate) fn finish(&mut self) -> Result<()> {
        for observe in crate::engine::registry::get().observers {
            observe(self)?;
        }
        Ok(())
    }

    pub(crate) fn take_hooks(&mut self) -> Vec<Hook> {
        std::mem::take(&mut self.hooks)
    }

    /// The time this write is stamped with, from the store's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
