//! [`WriteTx`]: the handle a write closure gets inside a group-committed transaction.

use std::sync::Arc;

use redb::WriteTransaction;

use crate::audit::{AuditEvent, AuditReceipt, AuditTables};
use crate::clock::{Clock, Timestamp};
use crate::dead_letters::{DlqConfig, DlqTables};
use crate::error::{Error, Result};
use crate::idempotency::{Flights, IdemTables};
use crate::kv::KvTable;
use crate::logs::{LogEntry, RingTables};
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
    audit: Option<AuditTables<'a>>,
    logs: Option<RingTables<'a>>,
    idem: Option<IdemTables<'a>>,
    kv: Option<KvTable<'a>>,
    flights: &'a Arc<Flights>,
    dlq: Option<DlqTables<'a>>,
    /// Run once the transaction committed (`true`) or was abandoned (`false`): they keep
    /// in-memory state (keys in flight) in step with what committed.
    hooks: Vec<Hook>,
}

impl<'a> WriteTx<'a> {
    pub(crate) fn new(
        txn: &'a WriteTransaction,
        redo: &'a RedoBuf,
        state: &'a mut WriterState,
        clock: &'a dyn Clock,
        flights: &'a Arc<Flights>,
    ) -> Self {
        Self {
            txn,
            redo,
            state,
            clock,
            audit: None,
            logs: None,
            idem: None,
            kv: None,
            flights,
            dlq: None,
            hooks: Vec::new(),
        }
    }

    pub(crate) fn idem(&mut self) -> Result<&mut IdemTables<'a>> {
        if self.idem.is_none() {
            self.idem = Some(IdemTables::open(self.txn, self.redo)?);
        }
        self.idem
            .as_mut()
            .ok_or_else(|| Error::Storage("idempotency tables did not open".into()))
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

    /// The mutable state's digest with this transaction's changes so far.
    pub(crate) fn digest(&self) -> crate::restore_points::digest::StateDigest {
        self.redo.peek_digest(&self.state.digest)
    }

    /// The audit log's size and root, with this transaction's appends.
    pub(crate) fn audit_frontier(&self) -> (u64, crate::audit::Hash) {
        let f = &self.state.audit.frontier;
        (f.size, f.root())
    }

    /// The next change-journal number (`None`: change tracking is off).
    pub(crate) fn changes_mut(&mut self) -> &mut Option<u64> {
        &mut self.state.changes
    }

    pub(crate) fn flights(&self) -> &'a Arc<Flights> {
        self.flights
    }

    /// Runs `hook` when the transaction is over: with `true` once it committed, with
    /// `false` if it was abandoned (a failed write, or a batch re-run without another job).
    pub(crate) fn after(&mut self, hook: Hook) {
        self.hooks.push(hook);
    }

    /// Runs the commit observers (`crate::areas::OBSERVERS`, in their order) once the
    /// last job ran, before the writer commits: each may write what it gathered over the
    /// batch, and each sees the changes of those before it.
    pub(crate) fn finish(&mut self) -> Result<()> {
        for observe in crate::areas::OBSERVERS {
            observe(self)?;
        }
        Ok(())
    }

    /// The dead-letter tables, if this transaction opened them.
    pub(crate) fn dlq_if_open(&mut self) -> Option<&mut DlqTables<'a>> {
        self.dlq.as_mut()
    }

    /// The batch's redo buffer (its changes so far).
    pub(crate) fn redo(&self) -> &'a RedoBuf {
        self.redo
    }

    /// The newest restore point, if any (the generation old values are kept under).
    pub(crate) fn points(&self) -> Option<u64> {
        self.state.points
    }

    /// The state digest as of the last commit, to be updated by this batch's changes.
    pub(crate) fn digest_mut(&mut self) -> &mut crate::restore_points::digest::StateDigest {
        &mut self.state.digest
    }

    pub(crate) fn take_hooks(&mut self) -> Vec<Hook> {
        std::mem::take(&mut self.hooks)
    }

    fn kv(&mut self) -> Result<&mut KvTable<'a>> {
        if self.kv.is_none() {
            self.kv = Some(KvTable::open(self.txn, self.redo)?);
        }
        self.kv
            .as_mut()
            .ok_or_else(|| Error::Storage("app state table did not open".into()))
    }

    /// Reads app state `(namespace, key)`, seeing this transaction's own writes.
    pub fn kv_get(&mut self, namespace: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.kv()?.get(namespace, key)
    }

    /// Writes app state `(namespace, key) = value` (namespace 1..=64 bytes, key
    /// 1..=1024 bytes, value at most 1 MiB).
    pub fn kv_put(&mut self, namespace: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.kv()?.put(namespace, key, value)
    }

    /// Deletes app state `(namespace, key)`; returns whether it existed.
    pub fn kv_delete(&mut self, namespace: &str, key: &[u8]) -> Result<bool> {
        self.kv()?.delete(namespace, key)
    }

    /// The time this write is stamped with, from the store's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Appends an audit entry; its seq and time are assigned here.
    pub fn audit_append(&mut self, event: &AuditEvent) -> Result<AuditReceipt> {
        event.validate()?;
        self.audit_append_validated(event)
    }

    /// Writes queued log entries (consecutive seqs) into the ring, evicting the oldest.
    pub(crate) fn logs_write(&mut self, entries: &[LogEntry]) -> Result<()> {
        let state = &mut self.state.logs;
        let tables = match &mut self.logs {
            Some(t) => t,
            None => self.logs.insert(RingTables::open(self.txn, self.redo)?),
        };
        tables.append(state, entries)
    }

    /// The store's settings as this batch sees them.
    pub(crate) fn settings(&self) -> &crate::settings::Settings {
        &self.state.settings
    }

    /// Makes `s` the settings of this batch and of the writer's state: the ring is cut
    /// to its capacity here (returns the entries evicted), and the retry policy applies
    /// to the dead letters failed from here on.
    pub(crate) fn apply_settings(&mut self, s: &crate::settings::Settings) -> Result<u64> {
        self.state.settings = s.clone();
        self.state.dlq = self.state.dlq.with_policy(s.dead_letter_policy);
        let state = &mut self.state.logs;
        state.capacity = s.log_capacity;
        let held = state.next - state.head;
        let tables = match &mut self.logs {
            Some(t) => t,
            None => self.logs.insert(RingTables::open(self.txn, self.redo)?),
        };
        tables.evict(state)?;
        Ok(held - (state.next - state.head))
    }

    /// The newest restore point (the generation old row values are kept under).
    pub(crate) fn points_mut(&mut self) -> &mut Option<u64> {
        &mut self.state.points
    }

    pub(crate) fn audit_append_validated(&mut self, event: &AuditEvent) -> Result<AuditReceipt> {
        let time = self.clock.now();
        let tables = match &mut self.audit {
            Some(t) => t,
            None => self.audit.insert(AuditTables::open(self.txn, self.redo)?),
        };
        tables.append(&mut self.state.audit, event, time)
    }

    /// The dead-letter tables, opened on first use.
    pub(crate) fn dlq(&mut self) -> Result<&mut DlqTables<'a>> {
        if self.dlq.is_none() {
            self.dlq = Some(DlqTables::open(self.txn, self.redo)?);
        }
        self.dlq
            .as_mut()
            .ok_or_else(|| Error::Storage("dead-letter tables did not open".into()))
    }

    pub(crate) fn dlq_config(&self) -> DlqConfig {
        self.state.dlq
    }
}
