//! Alerts: a durable table of conditions that need a person, raised by the app or by the
//! store's own health checks.
//!
//! An alert is raised under a (tenant, dedup key): raising it again while it is not
//! resolved counts a repeat on the same alert (count and last seen go up; severity and
//! message become the latest raise's) instead of adding a row. It is acknowledged (someone
//! is on it) and resolved; a raise after it was resolved opens a new alert. Resolved alerts
//! stay as history until a purge past a retention deletes them, which says how many it
//! would delete and asks for that count. Every change appends an audit entry in the same
//! transaction (action `alert.raise`, `alert.acknowledge`, `alert.resolve`, `alert.purge`).
//!
//! ```
//! use hardstore::alerts::{NewAlert, Severity};
//! use hardstore::{Durability, Options, Store};
//! let store = Store::in_memory(Options::new())?;
//! let a = NewAlert::new("acme", "billing", "card-declines", Severity::Warning, "declines at 4%");
//! let first = store.alerts().raise(a.clone(), Durability::Durable)?;
//! let again = store.alerts().raise(a, Durability::Durable)?;
//! assert_eq!((again.id, again.count, again.created), (first.id, 2, false));
//! store.alerts().resolve(first.id, "oncall:ana", "card processor recovered")?;
//! # Ok::<(), hardstore::Error>(())
//! ```

mod query;
pub(crate) mod tables;

use std::time::Duration;

pub use query::{AlertCounts, AlertCursor, AlertPage, AlertQuery, AlertScope, MAX_ALERT_PAGE};

use crate::audit::AuditEvent;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::options::Durability;
use crate::store::Store;
use crate::WriteTx;
use tables::AlertTables;

/// Field limits, in bytes.
pub mod limits {
    /// Tenant: required, 1..=128 bytes.
    pub const TENANT: usize = 128;
    /// Source (the component that raised it): required, 1..=128 bytes.
    pub const SOURCE: usize = 128;
    /// Dedup key: required, 1..=256 bytes.
    pub const DEDUP_KEY: usize = 256;
    /// Message: 0..=4096 bytes.
    pub const MESSAGE: usize = 4096;
    /// Who acknowledged or resolved it: 0..=256 bytes.
    pub const BY: usize = 256;
    /// A resolution note: 0..=4096 bytes.
    pub const RESOLUTION: usize = 4096;
}

/// How urgent an alert is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Severity {
    /// Worth knowing; nobody needs to act.
    Info = 0,
    /// Degraded: act soon.
    Warning = 1,
    /// Broken or about to be: act now.
    Critical = 2,
}

impl Severity {
    /// The severity stored as `v`.
    pub fn from_u8(v: u8) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .get(usize::from(v))
            .copied()
    }

    /// "info", "warning" or "critical".
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses [`Severity::as_str`]'s names.
    pub fn parse(s: &str) -> Result<Severity> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            _ => Err(Error::InvalidArgument(format!(
                "severity {s:?} is not info, warning or critical"
            ))),
        }
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AlertState {
    /// Raised, nobody has acknowledged it.
    Open = 0,
    /// Someone is on it; still not resolved (a raise still counts on it).
    Acknowledged = 1,
    /// Over. A raise under its dedup key opens a new alert.
    Resolved = 2,
}

impl AlertState {
    /// The state stored as `v`.
    pub fn from_u8(v: u8) -> Option<AlertState> {
        [
            AlertState::Open,
            AlertState::Acknowledged,
            AlertState::Resolved,
        ]
        .get(usize::from(v))
        .copied()
    }

    /// "open", "acknowledged" or "resolved".
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// The tenant it concerns.
    pub tenant: String,
    /// The component that raised it (`health`, `billing`).
    pub source: String,
    /// What makes two raises the same alert, within the tenant.
    pub dedup_key: String,
    /// How urgent it is.
    pub severity: Severity,
    /// What is wrong, for a person.
    pub message: String,
}

impl NewAlert {
    /// An alert with every field.
    pub fn new(
        tenant: impl Into<String>,
        source: impl Into<String>,
        dedup_key: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            source: source.into(),
            dedup_key: dedup_key.into(),
            severity,
            message: message.into(),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        required("tenant", &self.tenant, limits::TENANT)?;
        required("source", &self.source, limits::SOURCE)?;
        required("dedup_key", &self.dedup_key, limits::DEDUP_KEY)?;
        at_most("message", &self.message, limits::MESSAGE)
    }
}

fn required(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.is_empty() {
        return Err(Error::InvalidArgument(format!("{field} must not be empty")));
    }
    at_most(field, v, max)
}

fn at_most(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.len() > max {
        return Err(Error::TooLong {
            field,
            len: v.len(),
            max,
        });
    }
    Ok(())
}

/// What a raise did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    /// The alert's id.
    pub id: u64,
    /// Raises counted on it, this one included.
    pub count: u64,
    /// Whether this raise opened it (false: it repeated one not resolved).
    pub created: bool,
    /// Its state after the raise (open, or acknowledged when it repeated one).
    pub state: AlertState,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its id: ids grow in the order alerts were opened and are never reused.
    pub id: u64,
    /// The tenant it concerns.
    pub tenant: String,
    /// The component that raised it.
    pub source: String,
    /// Its dedup key.
    pub dedup_key: String,
    /// The latest raise's severity.
    pub severity: Severity,
    /// The latest raise's message.
    pub message: String,
    /// Where it is in its life.
    pub state: AlertState,
    /// Raises counted on it.
    pub count: u64,
    /// When it was opened.
    pub first_seen: Timestamp,
    /// When it was last raised.
    pub last_seen: Timestamp,
    /// When it was acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// Who acknowledged it.
    pub acknowledged_by: String,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// Who resolved it.
    pub resolved_by: String,
    /// The resolution note.
    pub resolution: String,
}

/// The alerts of a [`Store`]: `store.alerts()`.
#[derive(Debug, Clone, Copy)]
pub struct Alerts<'s> {
    store: &'s Store,
}

/// Alerts one purge transaction deletes at most.
const PURGE_BATCH: usize = 1000;

impl<'s> Alerts<'s> {
    /// Raises `alert` (see the module docs for what a repeat does).
    pub fn raise(&self, alert: NewAlert, durability: Durability) -> Result<Raised> {
        crate::metrics::count(
            self.store,
            "alerts",
            "raise",
            (|| {
                alert.validate()?;
                self.store
                    .write(durability, move |tx| tx.alert_raise_validated(&alert))
            })(),
        )
    }

    /// Acknowledges alert `id` on behalf of `by`, durably, and returns it. Acknowledging
    /// an acknowledged alert changes nothing; a resolved one is refused
    /// ([`Error::InvalidArgument`]).
    pub fn acknowledge(&self, id: u64, by: &str) -> Result<Alert> {
        crate::metrics::count(
            self.store,
            "alerts",
            "acknowledge",
            (|| {
                at_most("by", by, limits::BY)?;
                let by = by.to_owned();
                self.store
                    .write(Durability::Durable, move |tx| tx.alert_acknowledge(id, &by))
            })(),
        )
    }

    /// Resolves alert `id` on behalf of `by`, with a note, durably, and returns it.
    /// Resolving a resolved alert changes nothing.
    pub fn resolve(&self, id: u64, by: &str, resolution: &str) -> Result<Alert> {
        crate::metrics::count(
            self.store,
            "alerts",
            "resolve",
            (|| {
                check_resolve(by, resolution)?;
                let (by, note) = (by.to_owned(), resolution.to_owned());
                self.store.write(Durability::Durable, move |tx| {
                    tx.alert_resolve(id, &by, &note)
                })
            })(),
        )
    }

    /// Resolves the alert not resolved under (`tenant`, `dedup_key`), if there is one.
    pub fn resolve_key(
        &self,
        tenant: &str,
        dedup_key: &str,
        by: &str,
        resolution: &str,
    ) -> Result<Option<Alert>> {
        required("tenant", tenant, limits::TENANT)?;
        required("dedup_key", dedup_key, limits::DEDUP_KEY)?;
        check_resolve(by, resolution)?;
        let (t, k) = (tenant.to_owned(), dedup_key.to_owned());
        let (by, note) = (by.to_owned(), resolution.to_owned());
        self.store.write(Durability::Durable, move |tx| {
            tx.alert_resolve_key(&t, &k, &by, &note)
        })
    }

    /// The alert `id` ([`Error::NotFound`] if there is none, or it was purged).
    pub fn get(&self, id: u64) -> Result<Alert> {
        query::get(&self.store.begin_read()?, id)
    }

    /// The alert not resolved under (`tenant`, `dedup_key`), if any.
    pub fn open_by_key(&self, tenant: &str, dedup_key: &str) -> Result<Option<Alert>> {
        query::open_by_key(&self.store.begin_read()?, tenant, dedup_key)
    }

    /// One page of alerts, newest first.
    pub fn list(&self, q: &AlertQuery) -> Result<AlertPage> {
        query::list(&self.store.begin_read()?, q)
    }

    /// How many alerts are not resolved, and how many resolved ones are kept.
    pub fn counts(&self) -> Result<AlertCounts> {
        query::counts(&self.store.begin_read()?)
    }

    /// How many resolved alerts a [`Alerts::purge_resolved`] with `older_than` would
    /// delete now. Changes nothing.
    pub fn purgeable(&self, older_than: Duration) -> Result<u64> {
        match cutoff(self.store.clock_now(), older_than) {
            Some(c) => query::purgeable(&self.store.begin_read()?, c),
            None => Ok(0),
        }
    }

    /// Deletes alerts resolved at least `older_than` ago. Refused with
    /// [`Error::ConfirmationRequired`] (naming the count, deleting nothing) when that is
    /// more than `confirm`; never deletes more than `confirm`. Durable, in transactions
    /// of up to 1000, each with its audit entry (tenant `hardstore`, action
    /// `alert.purge`). Returns how many it deleted.
    pub fn purge_resolved(&self, older_than: Duration, confirm: u64) -> Result<u64> {
        let Some(cut) = cutoff(self.store.clock_now(), older_than) else {
            return Ok(0);
        };
        let due = query::purgeable(&self.store.begin_read()?, cut)?;
        if due > confirm {
            return Err(Error::ConfirmationRequired {
                what: format!("a purge deletes {due} alerts resolved more than {older_than:?} ago"),
                deletes: due,
            });
        }
        self.purge_up_to(cut, due)
    }

    /// Deletes at most `limit` alerts resolved at or before `cut`, oldest first (maintenance's
    /// bounded step, under the store's retention setting); returns how many.
    pub(crate) fn purge_up_to(&self, cut: Timestamp, limit: u64) -> Result<u64> {
        let mut done = 0u64;
        while done < limit {
            let n = usize::try_from(limit - done).map_or(PURGE_BATCH, |l| l.min(PURGE_BATCH));
            let deleted = self
                .store
                .write(Durability::Durable, move |tx| tx.alert_purge(cut, n))?;
            done += deleted;
            if (deleted as usize) < n {
                break;
            }
        }
        Ok(done)
    }

    /// Whether an alert was resolved at or before `cut` (a read).
    pub(crate) fn purgeable_before(&self, cut: Timestamp) -> Result<bool> {
        query::any_resolved_by(&self.store.begin_read()?, cut)
    }

    /// The cutoff a purge of alerts resolved `older_than` ago uses now.
    pub(crate) fn cutoff(&self, older_than: Duration) -> Option<Timestamp> {
        cutoff(self.store.clock_now(), older_than)
    }
}

fn check_resolve(by: &str, resolution: &str) -> Result<()> {
    at_most("by", by, limits::BY)?;
    at_most("resolution", resolution, limits::RESOLUTION)
}

fn cutoff(now: Timestamp, older_than: Duration) -> Option<Timestamp> {
    let age = u64::try_from(older_than.as_micros()).unwrap_or(u64::MAX);
    now.checked_sub(age)
}

impl Store {
    /// The alerts: conditions raised for a person, deduplicated, acknowledged, resolved.
    pub fn alerts(&self) -> Alerts<'_> {
        Alerts { store: self }
    }
}

/// The alert tables a transaction opened.
struct AlertsPart;

impl crate::engine::area::Family for AlertsPart {
    type Of<'a> = AlertTables<'a>;
}

/// The audit entry of a change to alert `id`.
fn audit_event(tenant: &str, action: &str, actor: &str, id: u64) -> AuditEvent {
    AuditEvent::new(tenant, action)
        .actor(actor)
        .resource(format!("alert/{id}"))
}

impl<'a> WriteTx<'a> {
    fn alerts_tables(&mut self) -> Result<&mut AlertTables<'a>> {
        self.part::<AlertsPart>(AlertTables::open)
    }

    /// Raises an alert in this transaction, with its audit entry.
    pub fn alert_raise(&mut self, alert: &NewAlert) -> Result<Raised> {
        alert.validate()?;
        self.alert_raise_validated(alert)
    }

    fn alert_raise_validated(&mut self, alert: &NewAlert) -> Result<Raised> {
        let now = self.now();
        let r = self.alerts_tables()?.raise(alert, now)?;
        let ev = audit_event(&alert.tenant, "alert.raise", &alert.source, r.id)
            .outcome(if r.created { "opened" } else { "repeated" })
            .detail("severity", alert.severity.as_str())
            .detail("dedup_key", alert.dedup_key.clone())
            .detail("count", r.count.to_string())
            .detail("message", alert.message.clone());
        self.audit_append(&ev)?;
        Ok(r)
    }

    /// Acknowledges alert `id` in this transaction (see [`Alerts::acknowledge`]).
    pub fn alert_acknowledge(&mut self, id: u64, by: &str) -> Result<Alert> {
        at_most("by", by, limits::BY)?;
        let now = self.now();
        let (a, changed) = self.alerts_tables()?.acknowledge(id, by, now)?;
        if changed {
            self.audit_append(&audit_event(&a.tenant, "alert.acknowledge", by, id))?;
        }
        query::to_alert(id, a)
    }

    /// Resolves alert `id` in this transaction (see [`Alerts::resolve`]).
    pub fn alert_resolve(&mut self, id: u64, by: &str, resolution: &str) -> Result<Alert> {
        check_resolve(by, resolution)?;
        let now = self.now();
        let (a, changed) = self.alerts_tables()?.resolve(id, by, resolution, now)?;
        if changed {
            let ev = audit_event(&a.tenant, "alert.resolve", by, id)
                .detail("dedup_key", a.dedup_key.clone())
                .detail("resolution", resolution);
            self.audit_append(&ev)?;
        }
        query::to_alert(id, a)
    }

    /// Resolves the alert not resolved under (`tenant`, `dedup_key`), if any.
    pub fn alert_resolve_key(
        &mut self,
        tenant: &str,
        dedup_key: &str,
        by: &str,
        resolution: &str,
    ) -> Result<Option<Alert>> {
        match self.alerts_tables()?.open_id(tenant, dedup_key)? {
            Some(id) => self.alert_resolve(id, by, resolution).map(Some),
            None => Ok(None),
        }
    }

    fn alert_purge(&mut self, cutoff: Timestamp, limit: usize) -> Result<u64> {
        let t = self.alerts_tables()?;
        let rows = t.purgeable(cutoff, limit)?;
        t.purge(&rows)?;
        let n = rows.len() as u64;
        if n > 0 {
            let ev = AuditEvent::new("hardstore", "alert.purge")
                .detail("deleted", n.to_string())
                .detail("resolved_before", cutoff.to_string());
            self.audit_append(&ev)?;
        }
        Ok(n)
    }
}
