//! Maintenance: every cleanup the store's settings say is due, in bounded steps, with a
//! report of what it did; and the janitor, a thread of the store's own that runs it on
//! an interval.
//!
//! One run ([`Store::maintenance`]) does, in this order, at most `step` items of each:
//! 1. deletes expired idempotency keys (their TTL passed);
//! 2. deletes Done and Dead dead letters past `dead_letter_purge_after`;
//! 3. deletes resolved alerts past `alert_retention`;
//! 4. re-wraps sealed fields' data keys under the primary key after a rotation
//!    (`Sealing::rewrap`), and prunes audit payloads past `audit_retention` (when set;
//!    their leaf hashes stay);
//! 5. runs the backup the schedule says is due, when given a folder (the change
//!    journal is pruned after each backup, as every backup run does);
//! 6. deletes backups the retention setting drops (files, then catalog rows).
//!
//! What it deletes is what the store's own settings (changed only by audited calls) say
//! has expired; the report counts every deletion, and `more_due` says a task stopped at
//! its step with more left. A task that fails is reported (`errors`) and the others
//! still run.

mod janitor;

use std::path::PathBuf;

pub use janitor::JanitorStatus;
pub(crate) use janitor::MaintenanceArea;

use crate::audit::PruneBefore;
use crate::backup::{BackupOptions, BackupRecord};
use crate::error::Result;
use crate::store::Store;

/// What one maintenance run may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceOptions {
    pub(crate) step: usize,
    pub(crate) backup_folder: Option<PathBuf>,
}

impl Default for MaintenanceOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl MaintenanceOptions {
    /// At most 10,000 items per task, no backups run.
    pub fn new() -> Self {
        Self {
            step: 10_000,
            backup_folder: None,
        }
    }

    /// At most `n` items per task per run (at least 1).
    pub fn step(mut self, n: usize) -> Self {
        self.step = n.max(1);
        self
    }

    /// Runs the backup the store's schedule says is due, into `folder`.
    pub fn backups_into(mut self, folder: impl Into<PathBuf>) -> Self {
        self.backup_folder = Some(folder.into());
        self
    }
}

/// A task that failed in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// `idempotency`, `dead_letters`, `alerts`, `backup` or `backup_retention`.
    pub task: &'static str,
    /// The error.
    pub error: String,
}

/// What one maintenance run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaintenanceReport {
    /// Expired idempotency keys deleted.
    pub idempotency_expired: u64,
    /// Dead letters deleted (Done or Dead past their retention).
    pub dead_letters_purged: u64,
    /// Resolved alerts deleted (past `alert_retention`).
    pub alerts_purged: u64,
    /// The backup the schedule had due, if one was run.
    pub backup: Option<BackupRecord>,
    /// Backups the retention setting dropped (files and catalog rows deleted).
    pub backups_pruned: u64,
    /// Sealed fields' data keys re-wrapped by the primary key (a rotation's step).
    pub keys_rewrapped: u64,
    /// Audit entries whose payloads were pruned (past `audit_retention`; their leaf
    /// hashes kept).
    pub audit_pruned: u64,
    /// A task stopped at its step and more is due: run again.
    pub more_due: bool,
    /// Tasks that failed (the others ran).
    pub errors: Vec<TaskError>,
}

impl Store {
    /// Runs every cleanup that is due, each bounded by `opts`' step (see the module
    /// docs), and says what it did.
    pub fn maintenance(&self, opts: &MaintenanceOptions) -> Result<MaintenanceReport> {
        let mut r = MaintenanceReport::default();
        let step = opts.step;
        let settings = self.settings().get();
        let mut note = |task: &'static str, res: Result<u64>| -> u64 {
            match res {
                Ok(n) => n,
                Err(e) => {
                    r.errors.push(TaskError {
                        task,
                        error: e.to_string(),
                    });
                    0
                }
            }
        };
        // Each task reads first and writes only when something is due: a run with
        // nothing to do costs reads, not durable writes.
        let idem = note(
            "idempotency",
            self.idempotency().purge_due().and_then(|due| {
                if due {
                    self.idempotency().purge_expired(step).map(|n| n as u64)
                } else {
                    Ok(0)
                }
            }),
        );
        let dlq = note(
            "dead_letters",
            self.dead_letters().purge_due().and_then(|due| {
                if due {
                    self.dead_letters().purge(Some(step))
                } else {
                    Ok(0)
                }
            }),
        );
        let alerts = note(
            "alerts",
            match self.alerts().cutoff(settings.alert_retention) {
                Some(cut) => self.alerts().purgeable_before(cut).and_then(|due| {
                    if due {
                        self.alerts().purge_up_to(cut, step as u64)
                    } else {
                        Ok(0)
                    }
                }),
                None => Ok(0),
            },
        );
        let rewrapped = note(
            "sealing_rewrap",
            self.sealing().rewrap_due().and_then(|due| {
                if due {
                    self.sealing().rewrap_step(step as u64)
                } else {
                    Ok(0)
                }
            }),
        );
        let audit_pruned = note(
            "audit_retention",
            match settings.audit_retention {
                // The audited setting is the confirmation; each run takes one step.
                Some(age) => self.audit().prunable(PruneBefore::Age(age)).and_then(|r| {
                    let to = r.to.min(r.from.saturating_add(step as u64));
                    if to > r.from {
                        self.audit().prune(PruneBefore::Seq(to), u64::MAX)
                    } else {
                        Ok(0)
                    }
                }),
                None => Ok(0),
            },
        );
        let mut backup = None;
        if let Some(folder) = &opts.backup_folder {
            let now = self.clock_now();
            let ran = self.backups().run_due(
                now,
                folder,
                &settings.backup_schedule,
                &BackupOptions::default(),
            );
            match ran {
                Ok(b) => backup = b,
                Err(e) => {
                    note("backup", Err(e));
                }
            }
        }
        let pruned = note(
            "backup_retention",
            self.backups()
                .prune(&settings.backup_retention, self.clock_now(), false)
                .map(|gone| gone.len() as u64),
        );
        r.idempotency_expired = idem;
        r.dead_letters_purged = dlq;
        r.alerts_purged = alerts;
        r.backup = backup;
        r.backups_pruned = pruned;
        r.keys_rewrapped = rewrapped;
        r.audit_pruned = audit_pruned;
        // A task that used its whole step may have finished exactly: look again (reads).
        let full = step as u64;
        let still = |ran: u64, due: &dyn Fn() -> Result<bool>| ran >= full && due().unwrap_or(true);
        r.more_due = still(idem, &|| self.idempotency().purge_due())
            || still(rewrapped, &|| self.sealing().rewrap_due())
            || still(audit_pruned, &|| match settings.audit_retention {
                Some(age) => self
                    .audit()
                    .prunable(PruneBefore::Age(age))
                    .map(|r| r.count() > 0),
                None => Ok(false),
            })
            || still(dlq, &|| self.dead_letters().purge_due())
            || still(
                alerts,
                &|| match self.alerts().cutoff(settings.alert_retention) {
                    Some(cut) => self.alerts().purgeable_before(cut),
                    None => Ok(false),
                },
            );
        Ok(r)
    }
}
