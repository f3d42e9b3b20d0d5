//! Health: the store grades itself healthy, degraded or critical from checks it runs or
//! reads, each a component with its status, the reason, and the figure it measured.
//!
//! [`Store::health`] reads and changes nothing (it may commit log entries already
//! appended and queued, as every log read does). The checks:
//!
//! | component | what it measures | degraded / critical |
//! |---|---|---|
//! | `writer` | whether an I/O failure poisoned the store | - / poisoned |
//! | `audit` | the entries appended since the last check, recomputed against their Merkle leaves and nodes (the first check after an open covers the whole log) | - / any mismatch |
//! | `dead_letters` | dead letters dead and not yet purged | thresholds |
//! | `backups` | the age of the last successful backup against the schedule's full interval, and the success rate of the last 7 days' runs | overdue or a failure / twice overdue or under half succeeded |
//! | `restore_points` | points held against the cap | at the cap (the next create is refused) / - |
//! | `requests` | error rate and p95 duration over the log ring's window (its newest 4,096 entries at most) | thresholds |
//! | `file_size` | the store file and its redo log against a limit | 90% / 100% |
//! | `disk_free` | free bytes on the store's file system | thresholds |
//! | `integrity` | deep only: the whole audit log verified, every table's rows decoded, every restore point verified | - / any problem |
//!
//! Thresholds are a setting ([`HealthThresholds`]), kept in the store. A check that
//! fails to run is reported critical with its error, never a panic. With
//! [`HealthOptions::raise_alerts`], a component that turns degraded or critical raises
//! an alert (tenant `hardstore`, source `health`, dedup key the component's name) and
//! one that turns healthy again resolves it; a grade that did not change writes nothing.

mod checks;
mod disk;

pub(crate) use checks::file_bytes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use crate::engine::values::HealthThresholds;

use crate::alerts::{NewAlert, Severity};
use crate::audit::merkle::Frontier;
use crate::error::Result;
use crate::options::Durability;
use crate::store::Store;

/// A grade: of one component, or of the store (its worst component's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Grade {
    /// Working as it should.
    Healthy = 0,
    /// Working, but something needs attention soon.
    Degraded = 1,
    /// Broken, or about to lose something: act now.
    Critical = 2,
}

impl Grade {
    /// "healthy", "degraded" or "critical".
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Healthy => "healthy",
            Grade::Degraded => "degraded",
            Grade::Critical => "critical",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// The check (`writer`, `audit`, `dead_letters`, ...).
    pub name: &'static str,
    /// Its grade.
    pub status: Grade,
    /// Why, for a person (what was measured against which threshold, or the error).
    pub reason: String,
    /// The figure measured, in `unit` (`None`: nothing to measure here, such as the
    /// file size of a store in memory).
    pub value: Option<f64>,
    /// The figure's unit (`bytes`, `ratio`, `us`, `entries`, `count`).
    pub unit: &'static str,
}

/// A health report: every component, and the store's grade (the worst of them).
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    /// The worst component's grade.
    pub grade: Grade,
    /// Time since the store was opened.
    pub uptime: Duration,
    /// When the checks ran (the store's clock).
    pub checked_at: crate::clock::Timestamp,
    /// Every check, in the order of the table in the module docs.
    pub components: Vec<Component>,
    /// Alerts raised and resolved by this check (with `raise_alerts`).
    pub alerts_raised: u64,
    /// See `alerts_raised`.
    pub alerts_resolved: u64,
}

impl HealthReport {
    /// The component named `name`.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// What a health check does besides the fast checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthOptions {
    pub(crate) deep: bool,
    pub(crate) raise_alerts: bool,
}

impl HealthOptions {
    /// The fast checks only, no alerts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also the deep check (`integrity`): reads the whole store, so it takes time in
    /// proportion to its size.
    pub fn deep(mut self, on: bool) -> Self {
        self.deep = on;
        self
    }

    /// Raise an alert for each component that turned degraded or critical and resolve
    /// the alert of each that turned healthy (durable, audited writes).
    pub fn raise_alerts(mut self, on: bool) -> Self {
        self.raise_alerts = on;
        self
    }
}

/// What health keeps for an open: when it opened, and how far the audit log has been
/// verified (a check verifies only what was appended since).
pub(crate) struct HealthShared {
    opened: Instant,
    verified: Mutex<Frontier>,
}

impl HealthShared {
    /// Time since the store was opened.
    pub(crate) fn uptime(&self) -> Duration {
        self.opened.elapsed()
    }
}

/// The tenant, source and dedup-key prefix of the alerts health raises.
pub const HEALTH_TENANT: &str = "hardstore";
/// See [`HEALTH_TENANT`].
pub const HEALTH_SOURCE: &str = "health";

impl Store {
    /// The fast health checks (see the module docs); reads only.
    pub fn health(&self) -> Result<HealthReport> {
        self.health_with(HealthOptions::new())
    }

    /// The fast checks and the deep one.
    pub fn health_deep(&self) -> Result<HealthReport> {
        self.health_with(HealthOptions::new().deep(true))
    }

    /// The checks `opts` asks for; with `raise_alerts`, alerts follow grade changes.
    pub fn health_with(&self, opts: HealthOptions) -> Result<HealthReport> {
        let shared = self.shared::<HealthShared>()?;
        let t = self.settings().get().health;
        let now = self.clock_now();
        let mut components = checks::run(self, shared, &t, now, opts.deep);
        let (mut raised, mut resolved) = (0, 0);
        if opts.raise_alerts {
            if let Err(e) = follow(self, &components, &mut raised, &mut resolved) {
                components.push(Component {
                    name: "alerts",
                    status: Grade::Critical,
                    reason: format!("health could not raise or resolve its alerts: {e}"),
                    value: None,
                    unit: "count",
                });
            }
        }
        let grade = components
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Grade::Healthy);
        Ok(HealthReport {
            grade,
            uptime: shared.opened.elapsed(),
            checked_at: now,
            components,
            alerts_raised: raised,
            alerts_resolved: resolved,
        })
    }
}

/// Raises or resolves each component's alert where its grade changed.
fn follow(
    store: &Store,
    components: &[Component],
    raised: &mut u64,
    resolved: &mut u64,
) -> Result<()> {
    let alerts = store.alerts();
    for c in components {
        let open = alerts.open_by_key(HEALTH_TENANT, c.name)?;
        let severity = match c.status {
            Grade::Healthy => {
                if open.is_some() {
                    let note = format!("healthy again: {}", c.reason);
                    alerts.resolve_key(HEALTH_TENANT, c.name, HEALTH_SOURCE, &note)?;
                    *resolved += 1;
                }
                continue;
            }
            Grade::Degraded => Severity::Warning,
            Grade::Critical => Severity::Critical,
        };
        if open.is_some_and(|a| a.severity == severity) {
            continue; // the grade did not change
        }
        // Reasons are short; an error text past the alert's limit is cut at a character.
        let mut cut = c.reason.len().min(crate::alerts::limits::MESSAGE);
        while !c.reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let message = &c.reason[..cut];
        let alert = NewAlert::new(HEALTH_TENANT, HEALTH_SOURCE, c.name, severity, message);
        alerts.raise(alert, Durability::Durable)?;
        *raised += 1;
    }
    Ok(())
}

/// Health's hooks: the open's start time and the verified prefix of the audit log.
pub(crate) struct HealthArea;

impl crate::engine::area::Area for HealthArea {
    fn open(&self, ctx: &mut crate::engine::area::OpenCtx<'_>) -> Result<()> {
        ctx.shared.insert(Arc::new(HealthShared {
            opened: Instant::now(),
            verified: Mutex::new(Frontier::default()),
        }));
        Ok(())
    }
}
