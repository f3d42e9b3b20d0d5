//! [`WriteTx`]: the handle a write closure gets inside a group-committed transaction.

use redb::WriteTransaction;

use crate::audit::{AuditEvent, AuditReceipt, AuditTables};
use crate::clock::{Clock, Timestamp};
use crate::dead_letters::{DlqConfig, DlqTables};
use crate::error::Result;
use crate::logs::{LogEntry, RingTables};
use crate::writer::WriterState;

/// One caller's view of the shared write transaction.
///
/// Everything done through it commits together with the rest of the closure, or not
/// at all. A closure may be run more than once (when another write in the same batch
/// fails, the batch is retried without it), so it must not have side effects outside
/// the `WriteTx`.
pub struct WriteTx<'a> {
    txn: &'a WriteTransaction,
    state: &'a mut WriterState,
    clock: &'a dyn Clock,
    audit: Option<AuditTables<'a>>,
    logs: Option<RingTables<'a>>,
    dlq: Option<DlqTables<'a>>,
}

impl<'a> WriteTx<'a> {
    pub(crate) fn new(
        txn: &'a WriteTransaction,
        state: &'a mut WriterState,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            txn,
            state,
            clock,
            audit: None,
            logs: None,
            dlq: None,
        }
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
            None => self.logs.insert(RingTables::open(self.txn)?),
        };
        tables.append(state, entries)
    }

    /// Evicts entries past the ring's capacity (after a reopen with a smaller one).
    pub(crate) fn logs_evict(&mut self) -> Result<()> {
        let state = &mut self.state.logs;
        let tables = match &mut self.logs {
            Some(t) => t,
            None => self.logs.insert(RingTables::open(self.txn)?),
        };
        tables.evict(state)
    }

    pub(crate) fn audit_append_validated(&mut self, event: &AuditEvent) -> Result<AuditReceipt> {
        let time = self.clock.now();
        let tables = match &mut self.audit {
            Some(t) => t,
            None => self.audit.insert(AuditTables::open(self.txn)?),
        };
        tables.append(&mut self.state.audit, event, time)
    }

    /// The dead-letter tables, opened on first use.
    pub(crate) fn dlq(&mut self) -> Result<&mut DlqTables<'a>> {
        if self.dlq.is_none() {
            self.dlq = Some(DlqTables::open(self.txn)?);
        }
        Ok(self.dlq.as_mut().expect("just opened"))
    }

    pub(crate) fn dlq_config(&self) -> DlqConfig {
        self.state.dlq
    }
}
